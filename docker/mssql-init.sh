#!/bin/bash
# One-shot init of the SQL Server of docker/compose.debezium.yaml: waits for the
# server, then runs /init/wms-sqlserver.sql (database, table, CDC) with sqlcmd.
# The sa password comes from the mssql_password secret (SQLCMDPASSWORD, not argv).
set -euo pipefail
SQLCMD=/opt/mssql-tools18/bin/sqlcmd
[[ -x $SQLCMD ]] || SQLCMD=/opt/mssql-tools/bin/sqlcmd
SQLCMDPASSWORD="$(cat /run/secrets/mssql_password)"
export SQLCMDPASSWORD
for _ in $(seq 1 90); do
  if "$SQLCMD" -C -S mssql -U sa -Q 'SELECT 1' -b >/dev/null 2>&1; then
    exec "$SQLCMD" -C -S mssql -U sa -b -i /init/wms-sqlserver.sql
  fi
  sleep 2
done
echo "SQL Server did not answer within 180 s" >&2
exit 1

#!/bin/sh
# tandem's entrypoint in docker/compose.debezium.yaml: builds the connection
# URLs from the password secrets (URL-encoded), then runs tandem with them in
# its environment (docker/tandem-debezium.yaml reads them with `env:`).
set -eu
enc() { node -e 'process.stdout.write(encodeURIComponent(require("fs").readFileSync(process.argv[1], "utf8").trim()))' "$1"; }
PW="$(enc /run/secrets/db_password)"
MSSQL_PW="$(enc /run/secrets/mssql_password)"
export ERP_DATABASE_URL="postgresql://tandem:${PW}@erp-db:5432/erp"
export CRM_DATABASE_URL="mysql://tandem:${PW}@crm-db:3306/crm"
export WMS_DATABASE_URL="mssql://sa:${MSSQL_PW}@mssql:1433/wms?encrypt=false"
export TANDEM_STATE_URL="postgresql://tandem:${PW}@state-db:5432/tandem"
export TANDEM_REDIS_URL="redis://redis:6379"
exec node /app/bin/tandem.mjs "$@"

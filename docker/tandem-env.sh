#!/bin/sh
# Builds the connection URLs from the database password secret, then runs
# tandem with them in its environment (the config reads them with `env:`).
set -eu
PW="$(cat /run/secrets/db_password)"
export ERP_DATABASE_URL="postgresql://tandem:${PW}@erp-db:5432/erp"
export CRM_DATABASE_URL="postgresql://tandem:${PW}@crm-db:5432/crm"
export TANDEM_STATE_URL="postgresql://tandem:${PW}@state-db:5432/tandem"
export TANDEM_REDIS_URL="redis://redis:6379"
exec node /app/bin/tandem.mjs "$@"

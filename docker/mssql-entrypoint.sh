#!/bin/bash
# SQL Server reads its sa password only from MSSQL_SA_PASSWORD: set it from the
# mssql_password secret here, so the compose file carries no password.
set -euo pipefail
MSSQL_SA_PASSWORD="$(cat /run/secrets/mssql_password)"
export MSSQL_SA_PASSWORD
exec /opt/mssql/bin/sqlservr

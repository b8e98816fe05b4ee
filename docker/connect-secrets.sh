#!/bin/bash
# Entrypoint of the Kafka Connect service of docker/compose.debezium.yaml.
# Writes the database passwords from the compose secrets into one properties
# file that Connect's FileConfigProvider reads (config.providers=file), then
# starts the Debezium image's own entrypoint. Connector JSON refers to them as
#   ${file:/tmp/tandem-secrets/connect.properties:<key>}
# so no password is in the JSON, in Connect's config topic or in its REST API.
set -euo pipefail
dir=/tmp/tandem-secrets
mkdir -p "$dir"
chmod 700 "$dir"
prop() { # key file: key=<file content, trailing newlines dropped, backslashes escaped>
  printf '%s=%s\n' "$1" "$(sed -e 's/\\/\\\\/g' "$2")"
}
umask 077
{
  prop postgres.password /run/secrets/db_password
  prop mariadb.password /run/secrets/db_password
  prop sqlserver.password /run/secrets/mssql_password
} >"$dir/connect.properties"
exec /docker-entrypoint.sh "$@"

#!/usr/bin/env bash
# Tests the database definition on a real PostgreSQL server: a scratch database gets the
# migrations (twice: the second run must apply nothing), the constraints reject bad rows, and
# the Terraform is formatted. Server from the libpq environment (PGHOST, PGUSER, …; the role
# needs CREATEDB). The scratch database is dropped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="test_${{ values.name | replace('-', '_') }}_$$"
export PGDATABASE="${PGDATABASE:-postgres}"
admin_db="$PGDATABASE"
fail() { echo "FAIL: $*" >&2; exit 1; }
cleanup() { psql -q -d "$admin_db" -c "DROP DATABASE IF EXISTS $scratch" >/dev/null 2>&1 || true; }
trap cleanup EXIT

psql -q -v ON_ERROR_STOP=1 -d "$admin_db" -c "CREATE DATABASE $scratch"
export PGDATABASE="$scratch"

./migrate.sh | grep -q "applying 0001_init" || fail "first run did not apply 0001_init"
[ -z "$(./migrate.sh)" ] || fail "second run applied migrations again"
[ "$(psql -qtA -c 'SELECT count(*) FROM schema_migrations')" = 1 ] || fail "schema_migrations"
echo "ok - migrations apply once"

psql -q -v ON_ERROR_STOP=1 -c "INSERT INTO items (name, quantity) VALUES ('bolts', 12)"
[ "$(psql -qtA -c "SELECT quantity FROM items WHERE name = 'bolts'")" = 12 ] || fail "row not read back"
echo "ok - a valid row is stored"

rejects() {
  if psql -q -v ON_ERROR_STOP=1 -c "$1" 2>/dev/null; then fail "accepted: $1"; fi
}
rejects "INSERT INTO items (name, quantity) VALUES ('  ', 1)"
rejects "INSERT INTO items (name, quantity) VALUES ('nuts', -1)"
rejects "INSERT INTO items (name, quantity) VALUES ('bolts', 3)"
echo "ok - constraints reject blank names, negative quantities and duplicates"

if command -v terraform >/dev/null; then
  terraform fmt -check -recursive terraform || fail "terraform fmt"
  echo "ok - terraform is formatted"
else
  echo "skip - terraform not installed"
fi

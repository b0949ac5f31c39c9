#!/usr/bin/env bash
# Applies migrations/*.sql that are not yet recorded in schema_migrations, each in its own
# transaction. Connection from the libpq environment (PGHOST, PGDATABASE, …) or DATABASE_URL.
set -euo pipefail
export PGOPTIONS="${PGOPTIONS:-} --client-min-messages=warning"
cd "$(dirname "$0")"
conn=("${DATABASE_URL:-}")
[ -n "${conn[0]}" ] || conn=()
psql "${conn[@]}" -q -v ON_ERROR_STOP=1 -c "CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
for file in migrations/*.sql; do
  version=$(basename "$file" .sql)
  applied=$(psql "${conn[@]}" -qtA -v ON_ERROR_STOP=1 -v v="$version" <<<"SELECT 1 FROM schema_migrations WHERE version = :'v'")
  if [ -z "$applied" ]; then
    echo "applying $version"
    { echo "BEGIN;"; cat "$file"; echo "INSERT INTO schema_migrations (version) VALUES ('$version');"; echo "COMMIT;"; } \
      | psql "${conn[@]}" -q -v ON_ERROR_STOP=1
  fi
done

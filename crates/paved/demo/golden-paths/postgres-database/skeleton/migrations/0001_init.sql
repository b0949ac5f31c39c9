-- ${{ values.name }}: first schema. Migrations are applied in file-name order, once each;
-- add a new file rather than editing an applied one.
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE items (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    quantity   integer NOT NULL CHECK (quantity BETWEEN 0 AND 1000000),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (name)
);

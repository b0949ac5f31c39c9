-- The catalog: locations, the entities they provide, the relations those entities emit, the
-- field index used by filters, facets and ordering, processing errors, and change events.

CREATE TABLE locations (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    target          TEXT NOT NULL,
    origin          TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    refreshed_at    INTEGER,
    next_refresh_at INTEGER NOT NULL,
    lease_until     INTEGER,
    UNIQUE (kind, target)
);
CREATE INDEX locations_due ON locations (next_refresh_at);

CREATE TABLE entities (
    id           INTEGER PRIMARY KEY,
    entity_ref   TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    uid          TEXT NOT NULL UNIQUE,
    location_id  TEXT NOT NULL REFERENCES locations (id),
    source_file  TEXT NOT NULL,
    source_line  INTEGER NOT NULL,
    parent_ref   TEXT,
    processed    TEXT NOT NULL,
    warnings     TEXT,
    hash         TEXT NOT NULL,
    spec_hash    TEXT NOT NULL,
    generation   INTEGER NOT NULL,
    orphan       INTEGER NOT NULL DEFAULT 0,
    final_json   TEXT,
    etag         TEXT
);
CREATE INDEX entities_location ON entities (location_id);
CREATE INDEX entities_kind ON entities (kind);

-- Clustered by source: stitching an entity reads the rows whose source it is.
CREATE TABLE relations (
    originating_entity_id INTEGER NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    source_ref            TEXT NOT NULL,
    type                  TEXT NOT NULL,
    target_ref            TEXT NOT NULL,
    PRIMARY KEY (source_ref, type, target_ref, originating_entity_id)
) WITHOUT ROWID;
CREATE INDEX relations_originator ON relations (originating_entity_id);

-- Backstage's search table: one row per (entity, dotted key, lower-cased value), value null
-- for null or over-long values; original_value only when it differs from value (facets show
-- the original case).
CREATE TABLE search (
    entity_id      INTEGER NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    key            TEXT NOT NULL,
    value          TEXT,
    original_value TEXT
);
CREATE INDEX search_entity ON search (entity_id);
CREATE INDEX search_key_value ON search (key, value, original_value);

CREATE TABLE processing_errors (
    id          INTEGER PRIMARY KEY,
    location_id TEXT NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
    entity_ref  TEXT,
    diagnostic  TEXT NOT NULL
);
CREATE INDEX processing_errors_location ON processing_errors (location_id);
CREATE INDEX processing_errors_entity ON processing_errors (entity_ref);

CREATE TABLE changes (
    sequence   INTEGER PRIMARY KEY AUTOINCREMENT,
    entity_ref TEXT NOT NULL,
    etag       TEXT,
    at         INTEGER NOT NULL
);

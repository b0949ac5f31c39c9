-- An entity's location key is checked when its transaction commits instead of after each
-- statement. With that, every constraint of the multi-row insert that writes new entity rows
-- can fail the statement alone (`INSERT OR FAIL`, inside the ingestion's transaction, which
-- an error rolls back whole), and SQLite keeps no statement journal for it: a copy of every
-- page the insert changes, a fifth of the writer's time while a large ingestion writes its
-- entities. SQLite cannot change a constraint in place, so the table is built again.
CREATE TABLE entities_deferred (
    id           INTEGER PRIMARY KEY,
    entity_ref   TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    uid          TEXT NOT NULL UNIQUE,
    location_id  TEXT NOT NULL REFERENCES locations (id) DEFERRABLE INITIALLY DEFERRED,
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
INSERT INTO entities_deferred (id, entity_ref, kind, uid, location_id, source_file,
        source_line, parent_ref, processed, warnings, hash, spec_hash, generation, orphan,
        final_json, etag)
    SELECT id, entity_ref, kind, uid, location_id, source_file, source_line, parent_ref,
           processed, warnings, hash, spec_hash, generation, orphan, final_json, etag
    FROM entities ORDER BY id;
DROP TABLE entities;
ALTER TABLE entities_deferred RENAME TO entities;
CREATE INDEX entities_location_file ON entities (location_id, source_file);
CREATE INDEX entities_live_ref ON entities (entity_ref) WHERE etag IS NOT NULL;
CREATE INDEX entities_live_id ON entities (id) WHERE etag IS NOT NULL;
CREATE INDEX entities_live_kind ON entities (kind) WHERE etag IS NOT NULL;

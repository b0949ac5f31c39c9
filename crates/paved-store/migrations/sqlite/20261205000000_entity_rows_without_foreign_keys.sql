-- The field index and the relations lose their foreign keys to `entities`: the store removes
-- an entity's rows with the entity itself (`remove_entities`), and with a foreign key SQLite
-- looks the entity up again for every row written: 4 million lookups for a 100k-entity
-- catalog, a quarter of writing those rows.
CREATE TABLE search_unchecked (
    entity_id      INTEGER NOT NULL,
    key            INTEGER NOT NULL,
    seq            INTEGER NOT NULL,
    value          TEXT,
    original_value TEXT,
    PRIMARY KEY (entity_id, key, seq)
) WITHOUT ROWID;
INSERT INTO search_unchecked (entity_id, key, seq, value, original_value)
    SELECT entity_id, key, seq, value, original_value FROM search ORDER BY entity_id, key, seq;
DROP TABLE search;
ALTER TABLE search_unchecked RENAME TO search;
CREATE INDEX search_key_value_entity ON search (key, value, original_value, entity_id);

CREATE TABLE relations_unchecked (
    originating_entity_id INTEGER NOT NULL,
    source_ref            TEXT NOT NULL,
    type                  TEXT NOT NULL,
    target_ref            TEXT NOT NULL
);
INSERT INTO relations_unchecked (originating_entity_id, source_ref, type, target_ref)
    SELECT originating_entity_id, source_ref, type, target_ref FROM relations ORDER BY rowid;
DROP TABLE relations;
ALTER TABLE relations_unchecked RENAME TO relations;
CREATE INDEX relations_source ON relations (source_ref, type, target_ref);
CREATE INDEX relations_originator ON relations (originating_entity_id);

-- The field index becomes one B-tree clustered by entity and key (WITHOUT ROWID) instead of
-- a table plus an (entity_id, key, value) index: the rows an entity's stitching writes are
-- appended in key order (entities are stitched by ascending id), deleting or ordering by an
-- entity's rows seeks that B-tree directly, and the field index is stored twice instead of
-- three times. `seq` numbers an entity's rows, so a value may repeat under one key.
CREATE TABLE search_clustered (
    entity_id      INTEGER NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    key            TEXT NOT NULL,
    seq            INTEGER NOT NULL,
    value          TEXT,
    original_value TEXT,
    PRIMARY KEY (entity_id, key, seq)
) WITHOUT ROWID;
INSERT INTO search_clustered (entity_id, key, seq, value, original_value)
    SELECT entity_id, key, ROW_NUMBER() OVER (PARTITION BY entity_id ORDER BY key), value,
           original_value
    FROM search ORDER BY entity_id, key;
DROP TABLE search;
ALTER TABLE search_clustered RENAME TO search;
CREATE INDEX search_key_value_entity ON search (key, value, original_value, entity_id);

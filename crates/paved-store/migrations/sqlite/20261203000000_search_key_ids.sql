-- The field index stores each key as a number (the first 63 bits of the key's SHA-256, see
-- paved_model::search::key_id) instead of its text: the rows are a third smaller and bind
-- without copying. SQL cannot compute the numbers, so the rows are dropped here and written
-- again from the entities' final form when the store opens (an empty index beside live
-- entities is the sign).
DROP TABLE search;
CREATE TABLE search (
    entity_id      INTEGER NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    key            INTEGER NOT NULL,
    seq            INTEGER NOT NULL,
    value          TEXT,
    original_value TEXT,
    PRIMARY KEY (entity_id, key, seq)
) WITHOUT ROWID;
CREATE INDEX search_key_value_entity ON search (key, value, original_value, entity_id);

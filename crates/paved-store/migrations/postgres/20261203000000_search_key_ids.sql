-- The field index stores each key as a number (the first 63 bits of the key's SHA-256, see
-- paved_model::search::key_id) instead of its text: the rows are a third smaller and bind
-- without copying. SQL cannot compute the numbers, so the rows are dropped here and written
-- again from the entities' final form when the store opens (an empty index beside live
-- entities is the sign).
TRUNCATE search;
ALTER TABLE search ALTER COLUMN key TYPE bigint USING 0;

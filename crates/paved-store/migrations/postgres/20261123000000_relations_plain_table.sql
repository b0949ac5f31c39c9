-- Relations are a plain table with two indexes, as on SQLite (where a large ingestion
-- builds `relations_source` once instead of row by row): `relations_source` finds the rows
-- whose source an entity is (stitching), `relations_originator` the rows an entity emitted.
-- Duplicates within one originator are removed before writing.
ALTER TABLE relations DROP CONSTRAINT relations_pkey;
CREATE INDEX relations_source ON relations (source_ref, type, target_ref);

-- Relations become a plain table with two indexes instead of a table clustered on all four
-- columns: rows are appended in the order entities are written, `relations_source` finds
-- the rows whose source an entity is (stitching) and `relations_originator` the rows an
-- entity emitted (replacing or removing it). A large ingestion drops `relations_source` and
-- builds it once from sorted rows, which costs a fraction of inserting every row at a
-- random place of a B-tree. Duplicates within one originator are removed before writing.
CREATE TABLE relations_plain (
    originating_entity_id INTEGER NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    source_ref            TEXT NOT NULL,
    type                  TEXT NOT NULL,
    target_ref            TEXT NOT NULL
);
INSERT INTO relations_plain (originating_entity_id, source_ref, type, target_ref)
    SELECT originating_entity_id, source_ref, type, target_ref FROM relations
    ORDER BY originating_entity_id;
DROP TABLE relations;
ALTER TABLE relations_plain RENAME TO relations;
CREATE INDEX relations_source ON relations (source_ref, type, target_ref);
CREATE INDEX relations_originator ON relations (originating_entity_id);

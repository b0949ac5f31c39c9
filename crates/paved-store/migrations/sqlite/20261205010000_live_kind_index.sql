-- Counting live entities per kind (the catalog's stats, polled while an ingestion is
-- watched) reads a small index of live entities instead of every entity row: at 100k
-- entities 0.01 s instead of 0.15 s, and 0.3–0.6 s right after a large ingestion.
DROP INDEX entities_kind;
CREATE INDEX entities_live_kind ON entities (kind) WHERE etag IS NOT NULL;

-- The field index's rows carry their number within the entity, as on SQLite (where it is
-- part of the clustered key); PostgreSQL keeps its table and indexes.
ALTER TABLE search ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;

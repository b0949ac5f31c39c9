-- The field index and the relations lose their foreign keys to `entities`, as on SQLite: the
-- store removes an entity's rows with the entity itself (`remove_entities`), and a foreign key
-- checks the entity again for every row written (millions in a large ingestion).
ALTER TABLE search DROP CONSTRAINT IF EXISTS search_entity_id_fkey;
ALTER TABLE relations DROP CONSTRAINT IF EXISTS relations_originating_entity_id_fkey;

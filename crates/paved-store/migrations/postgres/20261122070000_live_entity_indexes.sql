-- `etag IS NOT NULL` marks an entity with a final form: every read asks it. These partial
-- indexes answer it (and count, and order by ref) without reading the rows.
CREATE INDEX entities_live_ref ON entities (entity_ref COLLATE "C") WHERE etag IS NOT NULL;
CREATE INDEX entities_live_id ON entities (id) WHERE etag IS NOT NULL;
-- Ordering by a field looks up each entity's value for one key: entity and key lead.
DROP INDEX search_entity;
CREATE INDEX search_entity_key ON search (entity_id, key, value);

-- Filters and facets read only the field index: with the entity id in the index they never
-- touch the table, and a filter's conditions intersect as sorted id lists.
DROP INDEX search_key_value;
CREATE INDEX search_key_value_entity ON search (key, value, original_value, entity_id);

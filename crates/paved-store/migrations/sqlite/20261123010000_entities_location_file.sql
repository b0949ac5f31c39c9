-- Refreshing the entities of one file of a location looks up that file's entities (to orphan
-- the ones gone) without reading every entity of the location.
DROP INDEX entities_location;
CREATE INDEX entities_location_file ON entities (location_id, source_file);

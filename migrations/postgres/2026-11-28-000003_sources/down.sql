DROP TABLE oauth_states;
DROP TABLE group_source_connections;
DROP TABLE user_source_connections;
DROP TABLE source_property_mappings;
DROP TABLE property_mappings;
DROP TABLE sources;

ALTER TABLE sources DROP COLUMN sync_username_on_link;
ALTER TABLE user_source_connections DROP COLUMN origin;

DROP INDEX ix_group_source_connections_group_identifier;
CREATE INDEX ix_group_members_user ON group_members (user_id);
DROP INDEX ix_group_members_user_group;

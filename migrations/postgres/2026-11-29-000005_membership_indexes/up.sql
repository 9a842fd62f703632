-- Covering indexes for a login's group sync, which reads a user's memberships in one source's
-- groups with their upstream ids (thousands of rows for some Entra users): the membership and the
-- link are then read from the indexes alone, without a table look-up per row.
CREATE INDEX ix_group_members_user_group ON group_members (user_id, group_id);
DROP INDEX ix_group_members_user;
CREATE INDEX ix_group_source_connections_group_identifier
    ON group_source_connections (group_id, source_id, identifier);

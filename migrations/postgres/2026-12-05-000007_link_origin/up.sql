-- How a user connection came to be: `enrolled` (the source's enrollment flow created the account)
-- or `linked` (a matching mode joined an account that existed before). A linked account keeps
-- its username unless the source says otherwise (`sources.sync_username_on_link`).
ALTER TABLE user_source_connections ADD COLUMN origin TEXT NOT NULL DEFAULT 'linked';
-- Existing connections: an account created no earlier than its connection was enrolled by it
-- (both are written in the login's transaction); anything older was linked. When in doubt the
-- account counts as linked, the side that renames nothing.
UPDATE user_source_connections SET origin = 'enrolled'
    WHERE EXISTS (
        SELECT 1 FROM users
        WHERE users.id = user_source_connections.user_id
          AND users.created >= user_source_connections.created - INTERVAL '60 seconds'
    );
ALTER TABLE sources ADD COLUMN sync_username_on_link BOOLEAN NOT NULL DEFAULT FALSE;

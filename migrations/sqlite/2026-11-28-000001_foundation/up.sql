-- Core identity tables: users, groups, memberships, API tokens and the event log.
-- Column types are the portable subset (BIGINT ids, TEXT for UUIDs and JSON, TIMESTAMP in UTC)
-- so one diesel schema serves SQLite and PostgreSQL. Unique indexes carry the same names in both
-- trees: the storage layer maps a violation to the API field by that name.

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL,
    username TEXT NOT NULL,
    -- lower-cased username, computed by the application: usernames are unique case-insensitively
    username_key TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    -- lower-cased email for case-insensitive matching (not unique: several accounts may share one)
    email_key TEXT NOT NULL DEFAULT '',
    is_active BOOLEAN NOT NULL DEFAULT 1,
    is_superuser BOOLEAN NOT NULL DEFAULT 0,
    type TEXT NOT NULL DEFAULT 'internal',
    path TEXT NOT NULL DEFAULT 'users',
    attributes TEXT NOT NULL DEFAULT '{}',
    password_hash TEXT,
    password_changed TIMESTAMP,
    last_login TIMESTAMP,
    created TIMESTAMP NOT NULL,
    updated TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX uq_users_uuid ON users (uuid);
CREATE UNIQUE INDEX uq_users_username ON users (username_key);
CREATE INDEX ix_users_email_key ON users (email_key);

CREATE TABLE groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL,
    name TEXT NOT NULL,
    is_superuser BOOLEAN NOT NULL DEFAULT 0,
    attributes TEXT NOT NULL DEFAULT '{}',
    parent_id BIGINT REFERENCES groups (id) ON DELETE SET NULL,
    created TIMESTAMP NOT NULL,
    updated TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX uq_groups_uuid ON groups (uuid);
CREATE UNIQUE INDEX uq_groups_name ON groups (name);
CREATE INDEX ix_groups_parent ON groups (parent_id);

CREATE TABLE group_members (
    group_id BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX ix_group_members_user ON group_members (user_id);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    identifier TEXT NOT NULL,
    -- SHA-256 of the key; the key itself is shown once and never stored
    key_hash TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    intent TEXT NOT NULL DEFAULT 'api',
    description TEXT NOT NULL DEFAULT '',
    expires TIMESTAMP,
    managed TEXT,
    created TIMESTAMP NOT NULL,
    last_used TIMESTAMP
);
CREATE UNIQUE INDEX uq_api_tokens_identifier ON api_tokens (identifier);
CREATE UNIQUE INDEX uq_api_tokens_key_hash ON api_tokens (key_hash);
CREATE INDEX ix_api_tokens_user ON api_tokens (user_id);

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL,
    action TEXT NOT NULL,
    -- the acting user as it was at the time ({"pk","username","email"}); kept when the user is deleted
    user_pk BIGINT,
    user_json TEXT,
    context TEXT NOT NULL DEFAULT '{}',
    client_ip TEXT,
    created TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX uq_events_uuid ON events (uuid);
CREATE INDEX ix_events_created ON events (created);
CREATE INDEX ix_events_action ON events (action, created);
CREATE INDEX ix_events_user ON events (user_pk, created);

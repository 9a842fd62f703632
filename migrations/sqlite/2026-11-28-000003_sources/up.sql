-- Sources (federated identity providers such as Entra ID), property mappings, the links between
-- local users/groups and their upstream identities, and in-flight OAuth logins.

CREATE TABLE sources (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'oauth',
    -- the plugin that implements it (`entraid`, `openidconnect`)
    provider_type TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT 1,
    promoted BOOLEAN NOT NULL DEFAULT 0,
    consumer_key TEXT NOT NULL DEFAULT '',
    -- AES-256-GCM ciphertext (see crypto.rs); never returned by the API
    consumer_secret TEXT,
    client_auth TEXT NOT NULL DEFAULT 'client_secret_post',
    private_key TEXT,
    certificate TEXT,
    secret_expires TIMESTAMP,
    additional_scopes TEXT NOT NULL DEFAULT '',
    authorization_url TEXT,
    access_token_url TEXT,
    profile_url TEXT,
    oidc_jwks_url TEXT,
    settings TEXT NOT NULL DEFAULT '{}',
    user_matching_mode TEXT NOT NULL DEFAULT 'identifier',
    group_matching_mode TEXT NOT NULL DEFAULT 'identifier',
    authentication_flow_id BIGINT REFERENCES flows (id) ON DELETE SET NULL,
    enrollment_flow_id BIGINT REFERENCES flows (id) ON DELETE SET NULL,
    user_path_template TEXT NOT NULL DEFAULT 'sources/%(slug)s',
    icon TEXT NOT NULL DEFAULT '',
    created TIMESTAMP NOT NULL,
    updated TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX uq_sources_uuid ON sources (uuid);
CREATE UNIQUE INDEX uq_sources_slug ON sources (slug);

CREATE TABLE property_mappings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'source_oauth',
    expression TEXT NOT NULL,
    -- set on read-only mappings shipped with Gatehouse
    managed TEXT,
    created TIMESTAMP NOT NULL,
    updated TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX uq_property_mappings_uuid ON property_mappings (uuid);
CREATE UNIQUE INDEX uq_property_mappings_name ON property_mappings (name);

CREATE TABLE source_property_mappings (
    source_id BIGINT NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    mapping_id BIGINT NOT NULL REFERENCES property_mappings (id) ON DELETE CASCADE,
    -- `user` or `group`
    role TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (source_id, role, position)
);
CREATE INDEX ix_source_property_mappings_mapping ON source_property_mappings (mapping_id);

CREATE TABLE user_source_connections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    source_id BIGINT NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    identifier TEXT NOT NULL,
    -- upstream tokens, encrypted
    access_token TEXT,
    refresh_token TEXT,
    expires TIMESTAMP,
    attributes TEXT NOT NULL DEFAULT '{}',
    created TIMESTAMP NOT NULL,
    last_updated TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX uq_user_source_connections_identifier ON user_source_connections (source_id, identifier);
CREATE UNIQUE INDEX uq_user_source_connections_user ON user_source_connections (user_id, source_id);

CREATE TABLE group_source_connections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    source_id BIGINT NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    identifier TEXT NOT NULL,
    created TIMESTAMP NOT NULL,
    last_updated TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX uq_group_source_connections_identifier ON group_source_connections (source_id, identifier);
CREATE UNIQUE INDEX uq_group_source_connections_group ON group_source_connections (group_id, source_id);

CREATE TABLE oauth_states (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- SHA-256 of the `state` parameter
    state_hash TEXT NOT NULL,
    source_id BIGINT NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    -- SHA-256 of the browser cookie the login was started with (binds the callback to it)
    browser_hash TEXT NOT NULL,
    nonce TEXT NOT NULL,
    -- PKCE verifier, encrypted
    pkce_verifier TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    -- where to go afterwards, and the suspended flow (source stage) to resume
    next TEXT,
    resume_flow_hash TEXT,
    created TIMESTAMP NOT NULL,
    expires TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX uq_oauth_states_state_hash ON oauth_states (state_hash);
CREATE INDEX ix_oauth_states_expires ON oauth_states (expires);

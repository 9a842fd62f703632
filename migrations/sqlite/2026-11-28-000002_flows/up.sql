-- Flows, stages and their bindings; browser sessions; in-progress flow states; rate limits; consents.

CREATE TABLE flows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    designation TEXT NOT NULL,
    authentication TEXT NOT NULL DEFAULT 'none',
    -- set on objects Gatehouse creates itself (default flows); NULL for admin-made ones
    managed TEXT,
    created TIMESTAMP NOT NULL,
    updated TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX uq_flows_uuid ON flows (uuid);
CREATE UNIQUE INDEX uq_flows_slug ON flows (slug);

CREATE TABLE stages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    -- the kind's settings as a JSON object, validated by the stage kind before it is written
    settings TEXT NOT NULL DEFAULT '{}',
    managed TEXT,
    created TIMESTAMP NOT NULL,
    updated TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX uq_stages_uuid ON stages (uuid);
CREATE UNIQUE INDEX uq_stages_name ON stages (name);

CREATE TABLE flow_stage_bindings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL,
    flow_id BIGINT NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    stage_id BIGINT NOT NULL REFERENCES stages (id) ON DELETE CASCADE,
    binding_order INTEGER NOT NULL,
    created TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX uq_bindings_uuid ON flow_stage_bindings (uuid);
CREATE UNIQUE INDEX uq_bindings_flow_order ON flow_stage_bindings (flow_id, binding_order);
CREATE INDEX ix_bindings_stage ON flow_stage_bindings (stage_id);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- SHA-256 of the cookie value; the value itself is never stored
    key_hash TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created TIMESTAMP NOT NULL,
    expires TIMESTAMP NOT NULL,
    last_seen TIMESTAMP NOT NULL,
    ip TEXT,
    user_agent TEXT
);
CREATE UNIQUE INDEX uq_sessions_key_hash ON sessions (key_hash);
CREATE INDEX ix_sessions_user ON sessions (user_id);
CREATE INDEX ix_sessions_expires ON sessions (expires);

CREATE TABLE flow_states (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- SHA-256 of the flow cookie value
    key_hash TEXT NOT NULL,
    flow_id BIGINT NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    -- the planned stages (snapshots) as JSON, and the flow context as JSON
    plan TEXT NOT NULL,
    context TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    -- increases with every accepted submission: a form carries the step it was rendered for
    step INTEGER NOT NULL DEFAULT 0,
    finished BOOLEAN NOT NULL DEFAULT 0,
    expires TIMESTAMP NOT NULL,
    created TIMESTAMP NOT NULL,
    updated TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX uq_flow_states_key_hash ON flow_states (key_hash);
CREATE INDEX ix_flow_states_expires ON flow_states (expires);

CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY NOT NULL,
    window_start TIMESTAMP NOT NULL,
    hits INTEGER NOT NULL
);

CREATE TABLE user_consents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    application TEXT NOT NULL,
    permissions TEXT NOT NULL DEFAULT '',
    expires TIMESTAMP,
    created TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX uq_user_consents_user_application ON user_consents (user_id, application);

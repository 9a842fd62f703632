-- Gatehouse's own OAuth2/OIDC provider: signing keys, providers and the applications that use
-- them, and the short-lived state of authorizations (codes, grants, refresh tokens, revocations).

CREATE TABLE signing_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL,
    name TEXT NOT NULL,
    -- `RS256` or `ES256`
    algorithm TEXT NOT NULL,
    kid TEXT NOT NULL,
    -- PKCS#8 DER, AES-256-GCM encrypted (crypto.rs), bound to the key's uuid
    private_key TEXT NOT NULL,
    -- the public JWK published in JWKS
    public_jwk TEXT NOT NULL,
    -- set on the keys Gatehouse creates on first start
    managed TEXT,
    created TIMESTAMP NOT NULL,
    -- set when a newer key replaced this one; it is still published until retire_after
    rotated TIMESTAMP,
    retire_after TIMESTAMP
);
CREATE UNIQUE INDEX uq_signing_keys_uuid ON signing_keys (uuid);
CREATE UNIQUE INDEX uq_signing_keys_kid ON signing_keys (kid);

CREATE TABLE providers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL,
    name TEXT NOT NULL,
    -- `confidential` or `public`
    client_type TEXT NOT NULL,
    client_id TEXT NOT NULL,
    -- SHA-256 of the client secret (a high-entropy value); NULL for public clients
    client_secret_hash TEXT,
    -- JSON list of {"matching_mode": "strict" | "regex", "url"}
    redirect_uris TEXT NOT NULL DEFAULT '[]',
    authorization_flow_id BIGINT REFERENCES flows (id) ON DELETE SET NULL,
    signing_key_id BIGINT NOT NULL REFERENCES signing_keys (id),
    access_code_validity INTEGER NOT NULL,
    access_token_validity INTEGER NOT NULL,
    refresh_token_validity INTEGER NOT NULL,
    -- space-separated scopes this provider grants
    scopes TEXT NOT NULL,
    -- machine-to-machine: extra accepted audiences and allowed calling apps (JSON lists)
    federation_audiences TEXT NOT NULL DEFAULT '[]',
    federation_app_ids TEXT NOT NULL DEFAULT '[]',
    created TIMESTAMP NOT NULL,
    updated TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX uq_providers_uuid ON providers (uuid);
CREATE UNIQUE INDEX uq_providers_name ON providers (name);
CREATE UNIQUE INDEX uq_providers_client_id ON providers (client_id);
CREATE INDEX ix_providers_signing_key ON providers (signing_key_id);

-- The sources whose machine tokens a provider accepts, in order.
CREATE TABLE provider_federation_sources (
    provider_id BIGINT NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    source_id BIGINT NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    PRIMARY KEY (provider_id, source_id)
);
CREATE INDEX ix_provider_federation_sources_source ON provider_federation_sources (source_id);

CREATE TABLE applications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    provider_id BIGINT REFERENCES providers (id) ON DELETE SET NULL,
    created TIMESTAMP NOT NULL,
    updated TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX uq_applications_uuid ON applications (uuid);
CREATE UNIQUE INDEX uq_applications_slug ON applications (slug);
CREATE UNIQUE INDEX uq_applications_provider ON applications (provider_id);

-- One per completed authorization: the refresh tokens and access tokens it issued hang off it,
-- so revoking the grant (code replay, refresh-token reuse) revokes them all.
CREATE TABLE oauth_grants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL,
    provider_id BIGINT NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    nonce TEXT,
    auth_time TIMESTAMP NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT 0,
    created TIMESTAMP NOT NULL,
    expires TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX uq_oauth_grants_uuid ON oauth_grants (uuid);
CREATE INDEX ix_oauth_grants_user ON oauth_grants (user_id);
CREATE INDEX ix_oauth_grants_expires ON oauth_grants (expires);

CREATE TABLE authorization_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- SHA-256 of the code
    code_hash TEXT NOT NULL,
    provider_id BIGINT NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    code_challenge_method TEXT,
    auth_time TIMESTAMP NOT NULL,
    -- set when the code is redeemed: the grant it created (revoked if the code is replayed)
    grant_id BIGINT REFERENCES oauth_grants (id) ON DELETE SET NULL,
    used BOOLEAN NOT NULL DEFAULT 0,
    created TIMESTAMP NOT NULL,
    expires TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX uq_authorization_codes_code_hash ON authorization_codes (code_hash);
CREATE INDEX ix_authorization_codes_expires ON authorization_codes (expires);

CREATE TABLE refresh_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL,
    grant_id BIGINT NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    -- set when exchanged for a new one; presenting it again is reuse and revokes the grant
    rotated BOOLEAN NOT NULL DEFAULT 0,
    created TIMESTAMP NOT NULL,
    expires TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX uq_refresh_tokens_token_hash ON refresh_tokens (token_hash);
CREATE INDEX ix_refresh_tokens_grant ON refresh_tokens (grant_id);

-- Access tokens revoked before their expiry (RFC 7009), by `jti`; kept until they expire.
CREATE TABLE revoked_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    jti TEXT NOT NULL,
    expires TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX uq_revoked_tokens_jti ON revoked_tokens (jti);
CREATE INDEX ix_revoked_tokens_expires ON revoked_tokens (expires);

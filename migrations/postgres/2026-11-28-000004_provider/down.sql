DROP TABLE revoked_tokens;
DROP TABLE refresh_tokens;
DROP TABLE authorization_codes;
DROP TABLE oauth_grants;
DROP TABLE applications;
DROP TABLE provider_federation_sources;
DROP TABLE providers;
DROP TABLE signing_keys;

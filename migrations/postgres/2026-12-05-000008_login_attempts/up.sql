-- A forced re-authentication (OIDC `prompt=login`, `max_age`) is answered by one login: the
-- session that login creates carries the SHA-256 of the re-authentication marker's nonce, and the
-- authorization endpoint clears it when it accepts the marker, so a marker works once, for the
-- session of the login it asked for.
ALTER TABLE sessions ADD COLUMN reauth_nonce TEXT NULL;

ALTER TABLE sessions DROP COLUMN reauth_nonce;

ALTER TABLE providers DROP COLUMN federation_required_roles;

-- M2M trust (issue 11, item 1): a provider federating machine tokens must name who may
-- exchange, by app allow-list (federation_app_ids) and/or app roles that must all appear in the
-- token's `roles` claim. Existing providers keep their rows; those naming nobody refuse every
-- exchange until an operator sets one of the two (the server logs a warning at start).
ALTER TABLE providers ADD COLUMN federation_required_roles TEXT NOT NULL DEFAULT '[]';

-- Who vouched for each audit actor (local, webex, system): a local user and a Webex user may
-- carry the same name. Entries written before this stay NULL (shown as not recorded).
ALTER TABLE audit_log ADD COLUMN actor_provider TEXT;

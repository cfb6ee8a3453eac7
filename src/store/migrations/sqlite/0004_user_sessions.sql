-- Sessions end when their user's epoch moves (password reset, disable) and disabled users
-- cannot sign in.
ALTER TABLE users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;

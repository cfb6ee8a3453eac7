-- Exchange Online (Graph) change notifications: one subscription per mailbox, renewed before it
-- expires; client_state is the SHA-256 (hex) of the secret each notification must carry.
CREATE TABLE calendar_graph_subscriptions (
    mailbox TEXT PRIMARY KEY NOT NULL,
    subscription_id TEXT NOT NULL UNIQUE,
    client_state TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

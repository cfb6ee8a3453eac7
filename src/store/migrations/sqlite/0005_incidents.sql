-- Webex incident rooms.

-- The org admin grant: one row; the tokens are sealed (AEAD) with a key kept outside the database.
CREATE TABLE webex_grant (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    sealed_tokens TEXT NOT NULL,
    person_id     TEXT NOT NULL,
    email         TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    org_id        TEXT NOT NULL,
    granted_by    TEXT NOT NULL,
    granted_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    refreshed_at  TEXT NOT NULL,
    dead          INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT
);

-- The org directory, cached from GET /people.
CREATE TABLE webex_directory (
    person_id     TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL,
    email         TEXT NOT NULL,
    sms_number    TEXT,
    voice_number  TEXT,
    refreshed_at  TEXT NOT NULL
);
CREATE INDEX webex_directory_name ON webex_directory (display_name COLLATE NOCASE);

-- People who can be called out: internal (a Webex person) or external (phone-only).
CREATE TABLE responders (
    id            INTEGER PRIMARY KEY,
    person_id     TEXT UNIQUE,
    name          TEXT NOT NULL,
    email         TEXT,
    sms_number    TEXT,
    voice_number  TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE response_spaces (
    room_id        TEXT PRIMARY KEY,
    title          TEXT NOT NULL,
    incident_name  TEXT NOT NULL DEFAULT '',
    synced_at      TEXT
);

-- Who responds in a space. `pre_existing`: a Webex member before Switchboard added anyone;
-- stopping an incident removes only the others.
CREATE TABLE space_responders (
    room_id        TEXT NOT NULL REFERENCES response_spaces (room_id),
    responder_id   INTEGER NOT NULL REFERENCES responders (id) ON DELETE CASCADE,
    membership_id  TEXT,
    pre_existing   INTEGER NOT NULL DEFAULT 0,
    send_sms       INTEGER NOT NULL DEFAULT 0,
    send_voice     INTEGER NOT NULL DEFAULT 0,
    added_by       TEXT,
    added_at       TEXT NOT NULL,
    PRIMARY KEY (room_id, responder_id)
);

CREATE TABLE incidents (
    id                   INTEGER PRIMARY KEY,
    room_id              TEXT NOT NULL,
    space_title          TEXT NOT NULL,
    name                 TEXT NOT NULL,
    commander            TEXT NOT NULL,
    commander_person_id  TEXT NOT NULL,
    meeting_link         TEXT NOT NULL,
    meeting_number       TEXT NOT NULL,
    toll_number          TEXT NOT NULL,
    ack_salt             TEXT NOT NULL,
    started_at           TEXT NOT NULL,
    stopped_at           TEXT,
    stopped_by           TEXT
);
CREATE UNIQUE INDEX incidents_open_per_space ON incidents (room_id) WHERE stopped_at IS NULL;

-- One row per person x channel x round (0 = the start, 1.. = reminders): the durable job.
CREATE TABLE incident_deliveries (
    id             INTEGER PRIMARY KEY,
    incident_id    INTEGER NOT NULL REFERENCES incidents (id),
    responder_id   INTEGER NOT NULL,
    responder_name TEXT NOT NULL,
    channel        TEXT NOT NULL CHECK (channel IN ('webex', 'sms', 'voice')),
    address        TEXT NOT NULL,
    round          INTEGER NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    due_at         TEXT NOT NULL,
    reason         TEXT,
    provider_id    TEXT,
    updated_at     TEXT NOT NULL,
    UNIQUE (incident_id, responder_id, channel, round)
);
CREATE INDEX incident_deliveries_due ON incident_deliveries (status, due_at);

-- Acknowledgement links: only a hash of each token is kept.
CREATE TABLE incident_acks (
    incident_id    INTEGER NOT NULL REFERENCES incidents (id),
    responder_id   INTEGER NOT NULL,
    responder_name TEXT NOT NULL,
    token_hash     TEXT NOT NULL UNIQUE,
    answer         TEXT CHECK (answer IN ('coming', 'declined')),
    answered_at    TEXT,
    PRIMARY KEY (incident_id, responder_id)
);

-- The timeline of each incident.
CREATE TABLE incident_events (
    id           INTEGER PRIMARY KEY,
    incident_id  INTEGER NOT NULL REFERENCES incidents (id),
    at           TEXT NOT NULL,
    kind         TEXT NOT NULL,
    detail       TEXT NOT NULL
);
CREATE INDEX incident_events_incident ON incident_events (incident_id, id);

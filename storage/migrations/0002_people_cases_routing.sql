-- What a resident agreed to and where they live, remembered for their next case.
ALTER TABLE users ADD COLUMN consented_at TEXT;
ALTER TABLE users ADD COLUMN area_id TEXT;

-- Mediators, the head, the adviser and promoted staff. Residents have no row here.
CREATE TABLE members (
    user_id      INTEGER PRIMARY KEY REFERENCES users (id),
    role         TEXT    NOT NULL CHECK (role IN ('mediator', 'head', 'adviser', 'staff')),
    area_id      TEXT,                                   -- a mediator's village/community
    display_name TEXT    NOT NULL DEFAULT '',            -- what residents see, e.g. 王大姐
    duty_mode    TEXT    NOT NULL DEFAULT 'roster' CHECK (duty_mode IN ('roster', 'on', 'off')),
    active       INTEGER NOT NULL DEFAULT 1,
    joined_at    TEXT    NOT NULL
);

-- One-time invite links (/start join-<token>) created by staff.
CREATE TABLE invites (
    token      TEXT PRIMARY KEY,
    role       TEXT NOT NULL CHECK (role IN ('mediator', 'head', 'adviser')),
    area_id    TEXT,
    created_by INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_by    INTEGER,
    used_at    TEXT
);

-- Weekly duty slots in local time (minutes after local midnight), and dated exceptions.
CREATE TABLE roster_slots (
    id           INTEGER PRIMARY KEY,
    area_id      TEXT    NOT NULL,
    weekday      INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    start_minute INTEGER NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
    end_minute   INTEGER NOT NULL CHECK (end_minute BETWEEN 1 AND 1440 AND end_minute > start_minute),
    mediator_id  INTEGER NOT NULL
);

CREATE TABLE roster_overrides (
    id           INTEGER PRIMARY KEY,
    day          TEXT    NOT NULL,                       -- local date, YYYY-MM-DD
    mediator_id  INTEGER NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('off', 'on')),
    area_id      TEXT    NOT NULL,
    start_minute INTEGER,
    end_minute   INTEGER
);

-- A resident's intake in progress: it survives restarts.
CREATE TABLE drafts (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    step       TEXT NOT NULL,
    data       TEXT NOT NULL,                            -- JSON
    updated_at TEXT NOT NULL
);

-- Per-year case numbers: QJS-2026-0007. Incremented inside the registering transaction,
-- so numbers are unique and gap-free.
CREATE TABLE case_counters (
    year     INTEGER PRIMARY KEY,
    last_seq INTEGER NOT NULL
);

CREATE TABLE cases (
    id           INTEGER PRIMARY KEY,
    number       TEXT    NOT NULL UNIQUE,
    year         INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    resident_id  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    pseudonym    TEXT    NOT NULL,                       -- R-4821: how mediators see the resident
    area_id      TEXT,                                   -- NULL: urgent before an area was chosen
    category     TEXT    NOT NULL,
    urgent       INTEGER NOT NULL DEFAULT 0,
    contact      TEXT    NOT NULL,
    phone        TEXT,                                   -- only if the resident chose to share it
    state        TEXT    NOT NULL,
    mediator_id  INTEGER,
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL,
    UNIQUE (year, seq)
);
CREATE INDEX cases_by_mediator ON cases (mediator_id, state);
CREATE INDEX cases_by_resident ON cases (resident_id, state);

-- The case's timeline: every transition, offer, decline and timeout (who, when, why).
CREATE TABLE case_events (
    id       INTEGER PRIMARY KEY,
    case_id  INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    at       TEXT    NOT NULL,
    kind     TEXT    NOT NULL,
    actor_id INTEGER,
    detail   TEXT    NOT NULL DEFAULT '{}'               -- JSON, no message text
);
CREATE INDEX case_events_by_case ON case_events (case_id, id);

-- What the resident told us: the description at intake, later the relayed conversation.
CREATE TABLE case_messages (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    at          TEXT    NOT NULL,
    author      TEXT    NOT NULL CHECK (author IN ('resident', 'mediator')),
    kind        TEXT    NOT NULL,                        -- text, photo, voice, document, …
    text        TEXT,                                    -- text or caption
    file_id     TEXT,
    chat_id     INTEGER NOT NULL,                        -- the original, for copyMessage
    message_id  INTEGER NOT NULL
);
CREATE INDEX case_messages_by_case ON case_messages (case_id, id);

-- Offers of a case to a mediator; at most one open offer per case.
CREATE TABLE offers (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    mediator_id INTEGER NOT NULL,
    offered_at  TEXT    NOT NULL,
    deadline    TEXT,                                    -- NULL: no timeout (the head)
    state       TEXT    NOT NULL CHECK (state IN ('open', 'accepted', 'declined', 'expired')),
    reason      TEXT,
    ended_at    TEXT
);
CREATE UNIQUE INDEX one_open_offer_per_case ON offers (case_id) WHERE state = 'open';
CREATE INDEX offers_due ON offers (state, deadline);

-- Every message of a case's conversation in either chat, and its copy on the other side:
-- a reply in any chat threads to the right case and message; edits follow their copies.
CREATE TABLE relay_map (
    id           INTEGER PRIMARY KEY,
    case_id      INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    channel      TEXT    NOT NULL DEFAULT 'resident' CHECK (channel IN ('resident', 'adviser')),
    chat_id      INTEGER NOT NULL,           -- where this message is
    message_id   INTEGER NOT NULL,
    peer_chat    INTEGER,                    -- its copy on the other side, if any
    peer_message INTEGER,
    outgoing     INTEGER NOT NULL,           -- 1: the bot sent it (a copy or a case header)
    at           TEXT    NOT NULL
);
CREATE INDEX relay_map_by_message ON relay_map (chat_id, message_id);
CREATE INDEX relay_map_sent ON relay_map (chat_id, outgoing, id);

-- A team member's command waiting for its text: the agreement of a settlement, a note, …
CREATE TABLE pending_inputs (
    user_id    INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL,
    case_id    INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    data       TEXT    NOT NULL DEFAULT '{}',
    created_at TEXT    NOT NULL
);

-- The case a mediator is talking in when they write without replying (/case).
ALTER TABLE members ADD COLUMN current_case_id INTEGER REFERENCES cases (id) ON DELETE SET NULL;

-- Outcome and follow-up of a case, and who could not be reached.
ALTER TABLE cases ADD COLUMN outcome_text TEXT;    -- the agreement, or the referral
ALTER TABLE cases ADD COLUMN closed_at TEXT;
ALTER TABLE cases ADD COLUMN unreachable TEXT;     -- 'resident' or 'mediator' after a 403
ALTER TABLE cases ADD COLUMN adviser_id INTEGER;

-- Private notes of the mediator: never relayed.
CREATE TABLE case_notes (
    id        INTEGER PRIMARY KEY,
    case_id   INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    author_id INTEGER NOT NULL,
    at        TEXT    NOT NULL,
    text      TEXT    NOT NULL
);

-- The registration book also records the consultation with the legal adviser.
CREATE TABLE case_messages_new (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    at          TEXT    NOT NULL,
    author      TEXT    NOT NULL CHECK (author IN ('resident', 'mediator', 'adviser')),
    kind        TEXT    NOT NULL,
    text        TEXT,
    file_id     TEXT,
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER NOT NULL
);
INSERT INTO case_messages_new SELECT * FROM case_messages;
DROP TABLE case_messages;
ALTER TABLE case_messages_new RENAME TO case_messages;
CREATE INDEX case_messages_by_case ON case_messages (case_id, id);

-- A resident's message waiting for "which case is this for?": nothing is dropped meanwhile.
CREATE TABLE held_messages (
    user_id    INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    part       TEXT    NOT NULL,                       -- JSON of the message's kind and text
    at         TEXT    NOT NULL,
    PRIMARY KEY (user_id, message_id)
);

-- The other party of a case (对方当事人), invited by the mediator with a one-time link.
--   token_hash  sha256 of the link's token (the token itself is never stored)
--   user_id     who opened the link: the first one to open it; nobody else can use it
--   pseudonym   how the mediator sees them: 对方 R-5130
--   notice_at   when the rights-and-obligations notice was shown to them
--   consented_at  when they agreed to privacy and to take part; ended_at: declined or ended
CREATE TABLE case_parties (
    case_id      INTEGER PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,
    token_hash   TEXT    NOT NULL UNIQUE,
    pseudonym    TEXT    NOT NULL,
    invited_by   INTEGER NOT NULL,
    invited_at   TEXT    NOT NULL,
    user_id      INTEGER REFERENCES users (id) ON DELETE SET NULL,
    opened_at    TEXT,
    notice_at    TEXT,
    consented_at TEXT,
    ended_at     TEXT
);
CREATE INDEX case_parties_by_user ON case_parties (user_id);

-- Whom a mediator's messages without a reply go to in a two-party case (/talk).
CREATE TABLE party_focus (
    user_id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    channel TEXT    NOT NULL CHECK (channel IN ('resident', 'party'))
);

-- The written (调解协议书) or oral (§28) agreement of a settled case, and each party's
-- confirmation in the chat. `content` is JSON: the §29 fields the mediator typed.
CREATE TABLE agreements (
    case_id      INTEGER PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,
    form         TEXT    NOT NULL CHECK (form IN ('written', 'oral')),
    content      TEXT    NOT NULL,
    made_at      TEXT    NOT NULL,
    made_by      INTEGER NOT NULL
);
CREATE TABLE agreement_confirmations (
    case_id      INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    side         TEXT    NOT NULL CHECK (side IN ('resident', 'party')),
    confirmed_at TEXT    NOT NULL,
    PRIMARY KEY (case_id, side)
);

-- The relay gets a third channel: the other party ↔ the mediator. SQLite cannot change a
-- CHECK, so relay_map is rebuilt with its indexes.
CREATE TABLE relay_map_new (
    id           INTEGER PRIMARY KEY,
    case_id      INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    channel      TEXT    NOT NULL DEFAULT 'resident'
                         CHECK (channel IN ('resident', 'adviser', 'party')),
    chat_id      INTEGER NOT NULL,
    message_id   INTEGER NOT NULL,
    peer_chat    INTEGER,
    peer_message INTEGER,
    outgoing     INTEGER NOT NULL,
    at           TEXT    NOT NULL
);
INSERT INTO relay_map_new SELECT * FROM relay_map;
DROP TABLE relay_map;
ALTER TABLE relay_map_new RENAME TO relay_map;
CREATE INDEX relay_map_by_message ON relay_map (chat_id, message_id);
CREATE INDEX relay_map_sent ON relay_map (chat_id, outgoing, id);


-- The inbox: every update from Telegram, stored before Telegram is told it was received.
-- handled_at is set in the same transaction as the update's effects where there is one
-- (storage.db: a transaction made while handling an update marks it), else right after.
CREATE TABLE inbox (
    update_id   INTEGER PRIMARY KEY,
    chat_id     INTEGER,                 -- for order per chat at start; NULL: no chat
    user_id     INTEGER,                 -- who sent it: /forget and the purge reach it
    payload     TEXT    NOT NULL,        -- the update's JSON as Telegram sent it
    received_at TEXT    NOT NULL,
    handled_at  TEXT
);
CREATE INDEX inbox_unhandled ON inbox (update_id) WHERE handled_at IS NULL;
CREATE INDEX inbox_by_user ON inbox (user_id);
CREATE INDEX inbox_handled ON inbox (handled_at) WHERE handled_at IS NOT NULL;

-- The outbox: every message the bot sends is a row first. The sender delivers rows in
-- order per chat (conversations before reminders before broadcasts), records the result,
-- and deletes the row; after a crash every row left is sent, the one that was on its way
-- included (at most one duplicate per chat).
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: results are told by id
    chat_id     INTEGER NOT NULL,
    priority    INTEGER NOT NULL DEFAULT 0,   -- 0 conversation, 1 reminder, 2 broadcast
    purpose     TEXT    NOT NULL,             -- who delivers it: 'message', 'relay', …
    payload     TEXT    NOT NULL,             -- JSON: what to send
    data        BLOB,                         -- a document's bytes
    case_id     INTEGER REFERENCES cases (id) ON DELETE CASCADE,
    book_id     INTEGER REFERENCES case_messages (id) ON DELETE CASCADE,
    created_at  TEXT    NOT NULL
);
CREATE INDEX outbox_by_chat ON outbox (chat_id);
CREATE INDEX outbox_by_case ON outbox (case_id);
CREATE INDEX outbox_by_book ON outbox (book_id);

-- The registration book says what became of each message:
--   pending      booked, not passed on yet (no mediator yet, or the copy is queued)
--   delivered    the other side has it
--   undelivered  Telegram refused it for good; `failure` says why; the sender was told
--   held         kept by the flood limit; passed on when the other side asks
--   kept         a message of the case that is not passed on (the intake's description)
-- An edit is a new entry pointing at the entry it edits; the original stays readable.
ALTER TABLE case_messages ADD COLUMN delivery TEXT NOT NULL DEFAULT 'delivered';
ALTER TABLE case_messages ADD COLUMN failure TEXT;
ALTER TABLE case_messages ADD COLUMN edit_of INTEGER REFERENCES case_messages (id);
CREATE INDEX case_messages_by_message ON case_messages (chat_id, message_id);
CREATE INDEX case_messages_held ON case_messages (case_id, delivery) WHERE delivery = 'held';

-- Rows are written by the relay in its own transaction now, so the fan-out view goes.
DROP TRIGGER relay_entries_insert;
DROP VIEW relay_entries;

-- Which case's messages a chat showed last (the relay quotes a header when it switches).
CREATE TABLE relay_showing (
    chat_id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    channel TEXT    NOT NULL
);

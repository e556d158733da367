-- How a relayed message is passed on when a copy would carry an account (bot/relay.py):
--   entities  JSON: the text's entities without those that point at an account (a
--             text_mention, a hidden link into Telegram); NULL: the copy carries none
--   contact   JSON {"phone_number", "first_name"}: a contact card, sent anew without the
--             account it may name (its user_id) — never copied
ALTER TABLE case_messages ADD COLUMN entities TEXT;
ALTER TABLE case_messages ADD COLUMN contact TEXT;

-- Who read a case and when (People's Mediation Law §15, confidentiality): each opening of
-- a case's conversation (/case), its registration book (/book) or a consultation put to the
-- legal adviser. Role and display name as they were at the time; no contents.
CREATE TABLE case_access (
    id        INTEGER PRIMARY KEY,
    case_id   INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    at        TEXT    NOT NULL,
    reader_id INTEGER NOT NULL,                -- the team member (never a resident)
    role      TEXT    NOT NULL,                -- mediator, head, adviser
    name      TEXT    NOT NULL,                -- the display name residents see
    what      TEXT    NOT NULL CHECK (what IN ('case', 'book', 'consultation'))
);
CREATE INDEX case_access_by_case ON case_access (case_id, id);

-- The mediator's desk (bot/relay.py, bot/casework.py, bot/routing.py).
-- When she last chose her current case explicitly (/case, a case button, a reply): an
-- unquoted message goes there only while that choice is fresh (desk.choice_minutes).
ALTER TABLE members ADD COLUMN current_case_at TEXT;
-- How many open cases she can carry at once (NULL: no limit); routing respects it.
ALTER TABLE members ADD COLUMN capacity INTEGER CHECK (capacity IS NULL OR capacity >= 0);
-- Her saved short replies (常用语), sent in two taps with /phrases.
CREATE TABLE saved_phrases (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES members (user_id) ON DELETE CASCADE,
    text       TEXT    NOT NULL,
    created_at TEXT    NOT NULL
);
CREATE INDEX saved_phrases_by_user ON saved_phrases (user_id, id);

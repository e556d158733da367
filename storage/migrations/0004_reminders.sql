-- Everything time-based is a row here; the scheduler only wakes the bot up. A job claims its
-- row before sending and marks it after, so a restart, a misfire or a double fire never
-- sends twice (at most the one message in flight at a crash is sent again).
CREATE TABLE reminders (
    id         INTEGER PRIMARY KEY,
    job_id     TEXT    NOT NULL UNIQUE,      -- revisit:12:1, survey:12, offer:34, digest:…
    kind       TEXT    NOT NULL,
    case_id    INTEGER REFERENCES cases (id) ON DELETE CASCADE,
    ref        INTEGER,                      -- the offer id, the revisit's number…
    due_at     TEXT    NOT NULL,
    state      TEXT    NOT NULL DEFAULT 'pending'
               CHECK (state IN ('pending', 'claimed', 'done', 'cancelled')),
    late       INTEGER NOT NULL DEFAULT 0,   -- fell due while the bot was down
    attempts   INTEGER NOT NULL DEFAULT 0,
    created_at TEXT    NOT NULL,
    done_at    TEXT
);
CREATE INDEX reminders_open ON reminders (state, due_at);
CREATE INDEX reminders_by_case ON reminders (case_id, state);

-- Each revisit of a settled case and how it went.
CREATE TABLE revisits (
    case_id     INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    n           INTEGER NOT NULL,
    sent_at     TEXT,
    answer      TEXT CHECK (answer IN ('holding', 'recurred', 'unreachable')),
    answered_at TEXT,
    PRIMARY KEY (case_id, n)
);

-- The resident's satisfaction survey after a case is closed.
CREATE TABLE surveys (
    case_id     INTEGER PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,
    rating      INTEGER CHECK (rating BETWEEN 1 AND 5),
    resolved    INTEGER,
    comment     TEXT,
    answered_at TEXT
);

-- A recurred dispute opens a new case linked to the old one.
ALTER TABLE cases ADD COLUMN parent_id INTEGER REFERENCES cases (id);

-- Residents who blocked the bot get no survey (and later no announcements).
ALTER TABLE users ADD COLUMN blocked_at TEXT;

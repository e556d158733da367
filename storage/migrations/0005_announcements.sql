-- Residents who want the federation's event notices, and which areas and topics.
-- No rows in subscriber_areas (or _topics) means: all of them.
CREATE TABLE subscribers (
    user_id       INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    active        INTEGER NOT NULL DEFAULT 1,
    subscribed_at TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);
CREATE TABLE subscriber_areas (
    user_id INTEGER NOT NULL REFERENCES subscribers (user_id) ON DELETE CASCADE,
    area_id TEXT    NOT NULL,
    PRIMARY KEY (user_id, area_id)
);
CREATE TABLE subscriber_topics (
    user_id  INTEGER NOT NULL REFERENCES subscribers (user_id) ON DELETE CASCADE,
    topic_id TEXT    NOT NULL,
    PRIMARY KEY (user_id, topic_id)
);
-- /start offers the subscription once, never again.
ALTER TABLE users ADD COLUMN subscription_offered_at TEXT;

-- An announcement as staff composed it. A recurring one has several runs.
CREATE TABLE announcements (
    id             INTEGER PRIMARY KEY,
    author_id      INTEGER NOT NULL,
    state          TEXT    NOT NULL DEFAULT 'draft'
                   CHECK (state IN ('draft', 'scheduled', 'done', 'cancelled')),
    step           TEXT,                         -- the composer's current step (drafts)
    text           TEXT    NOT NULL DEFAULT '',
    photo_file_id  TEXT,
    areas          TEXT    NOT NULL DEFAULT '[]', -- JSON; [] = everyone
    topics         TEXT    NOT NULL DEFAULT '[]',
    first_at       TEXT,                         -- the first (or only) sending
    repeat         TEXT    CHECK (repeat IN ('weekly', 'monthly', 'yearly')),
    rsvp           INTEGER NOT NULL DEFAULT 0,
    event_offset   INTEGER,                      -- minutes from a sending to its event
    created_at     TEXT    NOT NULL
);

-- One sending of an announcement; its deliveries are per recipient, so a crash in the
-- middle resumes without a duplicate or a gap.
CREATE TABLE announcement_runs (
    id              INTEGER PRIMARY KEY,
    announcement_id INTEGER NOT NULL REFERENCES announcements (id) ON DELETE CASCADE,
    n               INTEGER NOT NULL,            -- 1 for the first sending
    send_at         TEXT    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'scheduled'
                    CHECK (state IN ('scheduled', 'sending', 'sent', 'cancelled')),
    finished_at     TEXT,
    UNIQUE (announcement_id, n)
);
CREATE TABLE deliveries (
    run_id     INTEGER NOT NULL REFERENCES announcement_runs (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL,
    state      TEXT    NOT NULL DEFAULT 'pending'
               CHECK (state IN ('pending', 'sent', 'failed', 'blocked')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    message_id INTEGER,
    updated_at TEXT,
    PRIMARY KEY (run_id, user_id)
);
CREATE INDEX deliveries_pending ON deliveries (run_id, state);

CREATE TABLE rsvps (
    run_id  INTEGER NOT NULL REFERENCES announcement_runs (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL,
    answer  TEXT    NOT NULL CHECK (answer IN ('yes', 'no')),
    at      TEXT    NOT NULL,
    PRIMARY KEY (run_id, user_id)
);

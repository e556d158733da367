-- Discreet mode for residents at risk: neutral first lines, and a record of what the bot
-- sent them so "clear this chat" can delete it (Telegram allows 48 hours).
ALTER TABLE users ADD COLUMN discreet INTEGER NOT NULL DEFAULT 0;
CREATE TABLE sent_messages (
    user_id    INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    at         TEXT    NOT NULL,
    PRIMARY KEY (user_id, message_id)
);

-- A user blocked by staff or the head for abuse, and why (never shown to them).
CREATE TABLE user_blocks (
    user_id INTEGER PRIMARY KEY,
    reason  TEXT    NOT NULL,
    by_id   INTEGER NOT NULL,
    at      TEXT    NOT NULL
);

-- When a closed case's message contents were purged after the retention period.
ALTER TABLE cases ADD COLUMN purged_at TEXT;

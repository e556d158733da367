-- People who have talked to the bot. The id is the Telegram user id (also their private
-- chat id). Names and usernames are deliberately not stored (DESIGN.md §5).
CREATE TABLE users (
    id                INTEGER PRIMARY KEY,
    language          TEXT,            -- chosen with /language; NULL follows Telegram
    telegram_language TEXT,            -- the language_code Telegram sent last
    created_at        TEXT NOT NULL,   -- ISO 8601, UTC
    updated_at        TEXT NOT NULL
);

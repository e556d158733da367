-- The command menu Telegram last accepted for a team member's chat (JSON of its commands),
-- so that a restart pushes only the menus that changed: a release with new commands, a
-- language or role change the bot missed, or a push Telegram refused. NULL: the bot-wide one.
ALTER TABLE users ADD COLUMN menu TEXT;

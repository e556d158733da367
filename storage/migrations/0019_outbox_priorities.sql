-- One set of priorities for the outbox's rows and the bot's budget of sends
-- (bot/core/pacing.py): 0 urgent alerts, 1 conversations (reminders among them), 2
-- broadcasts. Rows a run before this left spoke the old set (0 conversation, 1 reminder,
-- never written, 2 broadcast): they are conversations. The column's default is not used:
-- every row is written with its priority.
UPDATE outbox SET priority = 1 WHERE priority < 2;

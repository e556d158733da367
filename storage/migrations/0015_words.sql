-- How many people came to an event (one sending of an announcement with "I'll come"
-- buttons), as staff counted them at the door: /attendance. NULL: not recorded.
ALTER TABLE announcement_runs ADD COLUMN attended INTEGER CHECK (attended >= 0);

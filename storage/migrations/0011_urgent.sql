-- Urgent cases (someone in danger now) and the care of domestic-violence cases.
--   urgent_at     when the case became urgent: at registration, or when the resident asked
--                 for help again while it waited (an escalation)
--   taken_at      when a mediator (or the head) took it: an urgent case's waiting ends here
--   basis         why its data may be kept: 'consent', or 'vital_interests' when it was
--                 registered before the privacy consent, to protect life and health
--                 (PIPL Art. 13(4)); the consent is asked afterwards
--   no_mediation  不适合调解: nothing may bring the parties together (Anti-Domestic Violence
--                 Law); set for urgent and violence cases, cleared only with a reason
ALTER TABLE cases ADD COLUMN urgent_at TEXT;
ALTER TABLE cases ADD COLUMN taken_at TEXT;
ALTER TABLE cases ADD COLUMN basis TEXT NOT NULL DEFAULT 'consent';
ALTER TABLE cases ADD COLUMN no_mediation INTEGER NOT NULL DEFAULT 0;
UPDATE cases SET urgent_at = created_at, no_mediation = 1 WHERE urgent = 1;

-- Every alert about an urgent case: who got which card, in which round (0: the area's
-- mediators and the head; 1, 2, …: everyone, louder). Taken, every card is edited to say by
-- whom; follow-up messages of the resident are copied to everyone who was alerted.
CREATE TABLE urgent_alerts (
    id         INTEGER PRIMARY KEY,
    case_id    INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    round      INTEGER NOT NULL,
    can_take   INTEGER NOT NULL,                       -- 1: a mediator or the head; 0: staff
    sent_at    TEXT    NOT NULL
);
CREATE INDEX urgent_alerts_by_case ON urgent_alerts (case_id, user_id);
CREATE INDEX cases_urgent_waiting ON cases (urgent, state);

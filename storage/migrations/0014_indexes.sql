-- Indexes for ten years of a district (tests/test_query_plans.py finds the full scans that
-- these avoid):
--   cases_by_created     /stats reads the cases registered in a period
--   cases_by_state       the open cases (/overview, the head's list, routing at start)
--   cases_to_purge       the nightly purge finds the closed cases it has not purged yet
--   case_messages_edits  deleting a book entry looks for edits of it (the foreign key):
--                        without it, every entry the purge deletes scanned the whole book
--   relay_map_by_case, case_notes_by_case   the purge and erasure delete a case's rows
--   offers_by_case       a case's offers; offers_by_mediator  when each was last offered one
--   urgent_alerts_by_user  the urgent cases a mediator was alerted about
--   revisits_unanswered  revisits sent and not answered (the digest, /stats)
CREATE INDEX cases_by_created ON cases (created_at);
CREATE INDEX cases_by_state ON cases (state);
CREATE INDEX cases_to_purge ON cases (closed_at) WHERE purged_at IS NULL;
CREATE INDEX case_messages_edits ON case_messages (edit_of);
CREATE INDEX relay_map_by_case ON relay_map (case_id);
CREATE INDEX case_notes_by_case ON case_notes (case_id, id);
CREATE INDEX offers_by_case ON offers (case_id);
CREATE INDEX offers_by_mediator ON offers (mediator_id, offered_at);
CREATE INDEX urgent_alerts_by_user ON urgent_alerts (user_id);
CREATE INDEX revisits_unanswered ON revisits (sent_at) WHERE answer IS NULL;

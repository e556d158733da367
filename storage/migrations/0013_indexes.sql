-- Indexes for ten years of a district (tests/test_query_plans.py finds the full scans that
-- these avoid): /stats reads the cases of a period, the nightly purge finds the cases due
-- and deletes each one's map, notes and offers by case.
CREATE INDEX cases_by_created ON cases (created_at);
CREATE INDEX cases_to_purge ON cases (closed_at) WHERE purged_at IS NULL;
CREATE INDEX relay_map_by_case ON relay_map (case_id);
CREATE INDEX case_notes_by_case ON case_notes (case_id, id);
CREATE INDEX offers_by_case ON offers (case_id);

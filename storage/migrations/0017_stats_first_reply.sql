-- /stats counts each case's first reply from a mediator: with this index it is one seek per
-- case (the newest mediator entry is never read), not a walk through the whole book.
CREATE INDEX case_messages_first_reply ON case_messages (case_id, author, at);

-- The relay queues its rows (Database.insert_behind): one may come in after its case was
-- erased (/forget) or purged, while the message was on its way. Such a row is dropped, so
-- no message or map of an erased conversation comes back. (0008's trigger, with a WHEN.)
DROP TRIGGER relay_entries_insert;

CREATE TRIGGER relay_entries_insert INSTEAD OF INSERT ON relay_entries
WHEN (SELECT purged_at IS NULL FROM cases WHERE id = NEW.case_id)
     AND NOT EXISTS (SELECT 1 FROM case_events WHERE case_id = NEW.case_id AND kind = 'erased')
BEGIN
    INSERT INTO case_messages (case_id, at, author, kind, text, file_id, chat_id, message_id)
        SELECT NEW.case_id, NEW.at, NEW.author, NEW.kind, NEW.text, NEW.file_id, NEW.chat_id,
               NEW.message_id
        WHERE NEW.author IS NOT NULL;
    INSERT INTO relay_map (case_id, channel, chat_id, message_id, peer_chat, peer_message,
                           outgoing, at)
        SELECT NEW.case_id, NEW.channel, NEW.chat_id, NEW.message_id, NEW.copy_chat,
               NEW.copy_message, 0, NEW.at
        WHERE NEW.mapped;
    INSERT INTO relay_map (case_id, channel, chat_id, message_id, peer_chat, peer_message,
                           outgoing, at)
        SELECT NEW.case_id, NEW.channel, NEW.copy_chat, NEW.copy_message, NEW.chat_id,
               NEW.message_id, 1, NEW.at
        WHERE NEW.mapped AND NEW.copy_chat IS NOT NULL;
END;

-- One statement books a relayed message with its case (case_messages) and maps it to the
-- bot's copy on the other side (relay_map, both directions): the relay then writes once per
-- message. relay_entries holds no rows; its INSTEAD OF trigger fans each insert out.
--   author   who wrote it, for the case's book; NULL: booked already (or not booked at all)
--   mapped   1: map the message (to its copy when copy_chat is set; alone when not)
CREATE VIEW relay_entries AS
    SELECT NULL AS case_id, NULL AS channel, NULL AS author, NULL AS kind, NULL AS text,
           NULL AS file_id, NULL AS chat_id, NULL AS message_id, NULL AS copy_chat,
           NULL AS copy_message, NULL AS mapped, NULL AS at
    WHERE 0;

CREATE TRIGGER relay_entries_insert INSTEAD OF INSERT ON relay_entries
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

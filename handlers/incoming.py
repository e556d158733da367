"""Turning a Telegram message into the channel-free `Incoming` the services understand."""

from __future__ import annotations

from telegram import Message

from bot.intake import Incoming
from storage.cases import MessagePart

# Media a resident may use to describe their problem, with the attribute that holds it.
MEDIA_KINDS = ("photo", "voice", "audio", "video", "video_note", "document")


def incoming_from(message: Message) -> Incoming:
    if message.text is not None:
        return Incoming("text", text=message.text, part=_part(message, "text", None))
    for kind in MEDIA_KINDS:
        media = getattr(message, kind)
        if media:
            file_id = media[-1].file_id if kind == "photo" else media.file_id
            caption = message.caption or ""
            return Incoming("media", text=caption, part=_part(message, kind, file_id))
    if message.contact is not None:
        own = message.from_user is not None and message.contact.user_id == message.from_user.id
        return Incoming("contact", phone=message.contact.phone_number if own else None)
    return Incoming("unsupported")


def _part(message: Message, kind: str, file_id: str | None) -> MessagePart:
    return MessagePart(
        kind=kind,
        text=message.text if kind == "text" else message.caption,
        file_id=file_id,
        chat_id=message.chat_id,
        message_id=message.message_id,
    )

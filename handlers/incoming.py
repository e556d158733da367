"""Turning a Telegram message into the channel-free types the services understand."""

from __future__ import annotations

from telegram import Message

from bot.domain.cases import MessagePart
from bot.features.intake import Incoming
from bot.features.relay import Envelope, without_accounts

# Media a resident may use to describe their problem at intake.
DESCRIPTION_MEDIA = ("photo", "voice", "audio", "video", "video_note", "document")
# Everything the relay copies across, in the order Telegram's message fields are checked.
RELAYED = ("text", *DESCRIPTION_MEDIA, "location", "contact", "sticker", "animation")


def incoming_from(message: Message) -> Incoming:
    """For the intake: what kind of answer the resident gave at a step."""
    part = part_of(message)
    if part.kind == "text":
        return Incoming("text", text=message.text or "", part=part)
    if part.kind in DESCRIPTION_MEDIA:
        return Incoming("media", text=message.caption or "", part=part)
    if message.contact is not None:
        own = message.from_user is not None and message.contact.user_id == message.from_user.id
        return Incoming("contact", phone=message.contact.phone_number if own else None)
    return Incoming("unsupported")


def envelope_from(message: Message) -> Envelope:
    """For the relay: the message, what it replies to, and whether it is the writer's own
    contact card."""
    replied = message.reply_to_message
    card, writer = message.contact, message.from_user
    own = card is not None and writer is not None and card.user_id == writer.id
    return Envelope(
        part_of(message), reply_to=replied.message_id if replied else None, own_card=own
    )


def part_of(message: Message) -> MessagePart:
    """The message as the relay keeps and passes it on: no account in it (bot/features/relay.py)."""
    kind = next((k for k in RELAYED if getattr(message, k, None)), "other")
    entities = None
    if kind == "text" and message.entities:
        entities = without_accounts([entity.to_dict() for entity in message.entities])
    card = message.contact
    contact = None
    if kind == "contact" and card is not None:
        contact = {"phone_number": card.phone_number, "first_name": card.first_name}
    return MessagePart(
        kind=kind,
        text=message.text if kind == "text" else message.caption,
        file_id=_file_id(message, kind),
        chat_id=message.chat_id,
        message_id=message.message_id,
        entities=entities,
        contact=contact,
    )


def _file_id(message: Message, kind: str) -> str | None:
    media = getattr(message, kind, None)
    if kind == "photo" and media:
        return str(media[-1].file_id)
    file_id = getattr(media, "file_id", None)
    return str(file_id) if file_id else None

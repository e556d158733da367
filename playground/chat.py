"""What a phone would show of one private chat, as JSON for the playground page.

Read from the local Bot API's world: every visible message of the chat (the user's and the
bot's) with its media, the message it replies to, its inline keyboard and whether its text
was edited; the reply keyboard under the text field; the bot's commands menu.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

from localapi.server import LocalBotApi
from localapi.state import ChatState, JSONDict, World, message_kind

FILES_ROUTE = "/api/files/"
PREVIEW_CHARS = 80
MEDIA_LABELS = {
    "photo": "🖼",
    "document": "📄",
    "voice": "🎤",
    "video": "🎬",
    "audio": "🎵",
    "sticker": "🙂",
    "location": "📍",
    "contact": "👤",
}


def chat_view(api: LocalBotApi, chat_id: int) -> JSONDict:
    """The whole chat as the page draws it, with a `version` that changes with any of it."""
    chat = api.world.chat(chat_id)
    if chat is None:
        return _versioned({"messages": [], "keyboard": None, "commands": []})
    view = {
        "messages": [message_view(api.world, chat, m) for m in api.transcript(chat_id)],
        "keyboard": keyboard_view(chat.reply_keyboard),
        "commands": [
            {"command": c["command"], "description": c["description"]}
            for c in api.menu_commands(chat_id)
        ],
    }
    return _versioned(view)


def bot_message_count(api: LocalBotApi, chat_id: int) -> int:
    """How many messages the bot has sent to a chat (the page counts unread ones)."""
    return len(api.messages_to(chat_id))


def message_view(world: World, chat: ChatState, message: JSONDict) -> JSONDict:
    """One message: who sent it, its text or caption with entities, media, reply, buttons."""
    kind = message_kind(message)
    view: JSONDict = {
        "id": message["message_id"],
        "from_bot": bool(message.get("from", {}).get("is_bot")),
        "date": message["date"],
        "kind": kind,
        "text": message.get("text") or message.get("caption") or "",
        "entities": message.get("entities") or message.get("caption_entities") or [],
        "edited": _edited(chat, message),
        "buttons": _inline_buttons(message),
    }
    media = _media(world, message, kind)
    if media:
        view["media"] = media
    replied = message.get("reply_to_message")
    if isinstance(replied, dict):
        view["reply_to"] = {
            "id": replied["message_id"],
            "from_bot": bool(replied.get("from", {}).get("is_bot")),
            "text": preview(replied),
        }
    return view


def preview(message: JSONDict) -> str:
    """A one-line gist of a message, for the reply-to quote."""
    text = str(message.get("text") or message.get("caption") or "")
    label = MEDIA_LABELS.get(message_kind(message), "")
    gist = " ".join(part for part in (label, text.replace("\n", " ")) if part)
    return gist if len(gist) <= PREVIEW_CHARS else gist[: PREVIEW_CHARS - 1] + "…"


def keyboard_view(markup: JSONDict | None) -> JSONDict | None:
    """The reply keyboard under the text field, if the bot set one."""
    if not markup or "keyboard" not in markup:
        return None
    rows = [
        [_keyboard_button(button) for button in row]
        for row in markup.get("keyboard", [])
        if isinstance(row, list)
    ]
    return {"rows": rows, "placeholder": markup.get("input_field_placeholder") or ""}


def file_url(file_path: str) -> str:
    """Where the page downloads a file the local Bot API holds."""
    return FILES_ROUTE + quote(file_path)


def _versioned(view: JSONDict) -> JSONDict:
    encoded = json.dumps(view, sort_keys=True, ensure_ascii=False).encode()
    return {"version": hashlib.sha1(encoded, usedforsecurity=False).hexdigest(), **view}


def _keyboard_button(button: Any) -> JSONDict:
    if isinstance(button, str):
        return {"text": button}
    return {
        "text": str(button.get("text", "")),
        "request_contact": bool(button.get("request_contact")),
        "request_location": bool(button.get("request_location")),
    }


def _inline_buttons(message: JSONDict) -> list[list[JSONDict]]:
    markup = message.get("reply_markup") or {}
    return [
        [{k: button[k] for k in ("text", "callback_data", "url") if k in button} for button in row]
        for row in markup.get("inline_keyboard", [])
    ]


def _edited(chat: ChatState, message: JSONDict) -> bool:
    """Edited as a phone shows it: the text or caption changed (not only the buttons)."""
    if "edit_date" not in message:
        return False
    record = chat.bot_message(message["message_id"])
    if record is None or not message.get("from", {}).get("is_bot"):
        return True  # the user edited their own message
    return any(v.text != record.text or v.caption != record.caption for v in record.edits)


def _media(world: World, message: JSONDict, kind: str) -> JSONDict | None:
    if kind == "photo":
        largest = message["photo"][-1]
        return _stored(world, largest["file_id"], {"width": largest.get("width", 0)})
    if kind in ("document", "voice", "video", "audio", "sticker"):
        item = message[kind]
        extra = {"file_name": item.get("file_name", ""), "emoji": item.get("emoji", "")}
        return _stored(world, item["file_id"], extra)
    if kind == "location":
        return {
            "latitude": message["location"]["latitude"],
            "longitude": message["location"]["longitude"],
        }
    if kind == "contact":
        contact = message["contact"]
        return {"phone_number": contact["phone_number"], "first_name": contact["first_name"]}
    return None


def _stored(world: World, file_id: str, extra: JSONDict) -> JSONDict:
    stored = world.files.get(file_id)
    url = file_url(stored.file_path) if stored is not None else ""
    return {"url": url, **extra}

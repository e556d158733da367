"""The Bot API methods of the local server, with Telegram's validation and error wording.

Each method takes the request's :class:`~localapi.wire.Params` and returns the ``result``
of a successful answer, or raises :class:`~localapi.wire.ApiError`.  Every method validates
all of its input before it changes the world, so a refused call leaves no trace.
"""

from __future__ import annotations

import copy
import json
import mimetypes
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from localapi.formatting import EntityParseError, FormattedText, format_text
from localapi.state import (
    BotMessage,
    ChatState,
    JSONDict,
    StoredFile,
    User,
    World,
    message_kind,
)
from localapi.wire import ApiError, Params, Upload, bad_request

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
DELETE_WINDOW = timedelta(hours=48)
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
BLOCKED = "Forbidden: bot was blocked by the user"
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)
WEBHOOK_PORTS = (80, 88, 443, 8443)
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
INLINE_BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
COMMAND_SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
SEND_OPTIONS = (
    "disable_notification",
    "protect_content",
    "link_preview_options",
    "disable_web_page_preview",
    "parse_mode",
    "message_effect_id",
)
DEFAULT_MIME = {
    "voice": "audio/ogg",
    "video": "video/mp4",
    "audio": "audio/mpeg",
    "document": "application/octet-stream",
    "sticker": "image/webp",
}
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE = re.compile(r"[a-z]{2}")
PROFILE_LIMITS = {"name": 64, "description": 512, "short_description": 120}  # Telegram's

Method = Callable[[Params], Awaitable[Any]]


def parse_chat_id(raw: Any) -> int | None:
    """Return a numeric chat id from a parameter value, or None (e.g. ``@username``)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str):
        try:
            return int(raw.strip())
        except ValueError:
            return None
    return None


def validate_reply_markup(raw: Any) -> JSONDict | None:
    """Validate a ``reply_markup`` object and return it normalised (or None if absent)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in raw:
        return {"inline_keyboard": _inline_rows(raw["inline_keyboard"])}
    if "keyboard" in raw:
        return {**raw, "keyboard": _keyboard_rows(raw["keyboard"])}
    if raw.get("remove_keyboard") is True or raw.get("force_reply") is True:
        return dict(raw)
    raise bad_request("can't parse reply keyboard markup JSON object")


def _inline_rows(rows: Any) -> list[list[JSONDict]]:
    """Validate the rows of an inline keyboard."""
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" must be of type Array')
    return [[_inline_button(button) for button in row] for row in rows]


def _inline_button(button: Any) -> JSONDict:
    """Validate one inline keyboard button (callback_data must be 1-64 bytes)."""
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    if not INLINE_BUTTON_ACTIONS.intersection(button):
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button and (not isinstance(button["url"], str) or not button["url"]):
        raise bad_request("BUTTON_URL_INVALID")
    return dict(button)


def _keyboard_rows(rows: Any) -> list[list[JSONDict]]:
    """Validate the rows of a reply keyboard; plain strings become ``{"text": ...}``."""
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "keyboard" must be of type Array')
    result: list[list[JSONDict]] = []
    for row in rows:
        buttons: list[JSONDict] = []
        for item in row:
            button = {"text": item} if isinstance(item, str) else item
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad_request(
                    'can\'t parse keyboard button: Field "text" must be of type String'
                )
            buttons.append(dict(button))
        result.append(buttons)
    return result


def _entities(params: Params, name: str) -> list[JSONDict] | None:
    """Validate an explicit ``entities``/``caption_entities`` array."""
    value = params.structured(name, "MessageEntity")
    if value is None:
        return None
    valid = isinstance(value, list) and all(
        isinstance(e, dict)
        and isinstance(e.get("type"), str)
        and isinstance(e.get("offset"), int)
        and isinstance(e.get("length"), int)
        and e["offset"] >= 0
        and e["length"] >= 0
        for e in value
    )
    if not valid:
        raise bad_request("can't parse entities JSON object")
    return [dict(e) for e in value if e["length"] > 0]


def _formatted(params: Params, text: str, entities_field: str) -> FormattedText:
    """Apply ``parse_mode`` (or explicit entities) to ``text`` with Telegram's errors."""
    try:
        return format_text(text, params.text("parse_mode"), _entities(params, entities_field))
    except EntityParseError as exc:
        raise bad_request(f"can't parse entities: {exc}") from None
    except ValueError as exc:
        raise bad_request(str(exc)) from None


def _message_text(params: Params) -> FormattedText:
    """The validated ``text`` of sendMessage/editMessageText."""
    formatted = _formatted(params, params.text("text") or "", "entities")
    if not formatted.text:
        raise bad_request("message text is empty")
    if len(formatted.text) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")
    return formatted


def _caption(params: Params) -> FormattedText | None:
    """The validated optional ``caption`` of a media message."""
    raw = params.text("caption")
    if raw is None:
        return None
    formatted = _formatted(params, raw, "caption_entities")
    if len(formatted.text) > MAX_CAPTION_LENGTH:
        raise bad_request("message caption is too long")
    return formatted


def _text_fields(formatted: FormattedText | None, key: str, entities_key: str) -> JSONDict:
    """Message fields for a text or caption (nothing for an empty caption)."""
    if formatted is None or not formatted.text:
        return {}
    fields: JSONDict = {key: formatted.text}
    if formatted.entities:
        fields[entities_key] = formatted.entities
    return fields


def _copyable_content(message: JSONDict) -> JSONDict:
    """The content fields of a message that copyMessage/forwardMessage carry over."""
    keys = (
        "text",
        "entities",
        "caption",
        "caption_entities",
        "has_media_spoiler",
        "photo",
        "document",
        "voice",
        "video",
        "audio",
        "sticker",
        "video_note",
        "animation",
        "location",
        "contact",
    )
    return copy.deepcopy({key: message[key] for key in keys if key in message})


def _has_inline_buttons(markup: JSONDict | None) -> bool:
    """Whether a markup is an inline keyboard with at least one button."""
    return bool(markup and any(markup.get("inline_keyboard", [])))


def _chat_full_info(user: User) -> JSONDict:
    """Return getChat's ``ChatFullInfo`` for a private chat."""
    info = user.chat_dict()
    info.update(
        accent_color_id=user.id % 7,
        max_reaction_count=11,
        accepted_gift_types={
            "unlimited_gifts": True,
            "limited_gifts": True,
            "unique_gifts": True,
            "premium_subscription": True,
            "gifts_from_channels": True,
        },
    )
    return info


class BotApiMethods:
    """The implemented Bot API methods, looked up by lower-cased method name."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.closing = False
        self._poll_generation = 0
        media = ("photo", "document", "voice", "video", "audio", "sticker")
        self.table: dict[str, Method] = {
            "getme": self.get_me,
            "logout": self.ok,
            "close": self.ok,
            "setwebhook": self.set_webhook,
            "deletewebhook": self.delete_webhook,
            "getwebhookinfo": self.get_webhook_info,
            "getupdates": self.get_updates,
            "sendmessage": self.send_message,
            "copymessage": self.copy_message,
            "forwardmessage": self.forward_message,
            "editmessagetext": self.edit_message_text,
            "editmessagecaption": self.edit_message_caption,
            "editmessagereplymarkup": self.edit_message_reply_markup,
            "deletemessage": self.delete_message,
            "answercallbackquery": self.answer_callback_query,
            "sendlocation": self.send_location,
            "sendcontact": self.send_contact,
            "sendchataction": self.send_chat_action,
            "getfile": self.get_file,
            "setmycommands": self.set_my_commands,
            "getmycommands": self.get_my_commands,
            "deletemycommands": self.delete_my_commands,
            "setmyname": partial(self.set_profile, "name"),
            "getmyname": partial(self.get_profile, "name"),
            "setmydescription": partial(self.set_profile, "description"),
            "getmydescription": partial(self.get_profile, "description"),
            "setmyshortdescription": partial(self.set_profile, "short_description"),
            "getmyshortdescription": partial(self.get_profile, "short_description"),
            "setchatmenubutton": self.set_chat_menu_button,
            "getchatmenubutton": self.get_chat_menu_button,
            "getchat": self.get_chat,
        }
        for kind in media:
            self.table[f"send{kind}"] = partial(self.send_media, kind)

    # -- chats and delivery ------------------------------------------------------------------

    def target_chat(self, params: Params, name: str = "chat_id") -> ChatState:
        """The private chat named by ``name``; "chat not found" unless the user started it."""
        if not params.has(name):
            raise bad_request(f"{name} is empty")
        chat_id = parse_chat_id(params.raw(name))
        chat = self.world.chat(chat_id) if chat_id is not None else None
        if chat is None or not chat.user.started:
            raise bad_request("chat not found")
        return chat

    def writable_chat(self, params: Params) -> ChatState:
        """The target chat of a send/edit; 403 if the user blocked the bot."""
        chat = self.target_chat(params)
        if chat.user.blocked:
            raise ApiError(403, BLOCKED)
        return chat

    def _reply_target(self, params: Params, chat: ChatState) -> JSONDict | None:
        """The message named by ``reply_parameters`` (or legacy ``reply_to_message_id``)."""
        reply = params.structured("reply_parameters", "reply parameters")
        if reply is None and params.has("reply_to_message_id"):
            reply = {
                "message_id": params.required_integer("reply_to_message_id"),
                "allow_sending_without_reply": params.flag("allow_sending_without_reply"),
            }
        if reply is None:
            return None
        if not isinstance(reply, dict) or not isinstance(reply.get("message_id"), int):
            raise bad_request("can't parse reply parameters JSON object")
        other = reply.get("chat_id")
        same_chat = other is None or parse_chat_id(other) == chat.id
        replied = chat.visible(reply["message_id"]) if same_chat else None
        if replied is None:
            if reply.get("allow_sending_without_reply") is True:
                return None
            raise bad_request("message to be replied not found")
        return replied

    def _deliver(
        self,
        chat: ChatState,
        content: JSONDict,
        method: str,
        params: Params,
        *,
        reply_markup: JSONDict | None,
        file: StoredFile | None = None,
        copied_from: tuple[int, int] | None = None,
    ) -> BotMessage:
        """Create a bot message in ``chat`` and record it."""
        reply_to = self._reply_target(params, chat)
        if _has_inline_buttons(reply_markup):
            content = {**content, "reply_markup": reply_markup}
        message = self.world.new_message(chat, self.world.bot.to_dict(), content, reply_to)
        if reply_markup and "keyboard" in reply_markup:
            chat.reply_keyboard = reply_markup
        elif reply_markup and reply_markup.get("remove_keyboard"):
            chat.reply_keyboard = None
        options = {key: params.raw(key) for key in SEND_OPTIONS if params.has(key)}
        if params.has("protect_content"):  # as Telegram reads it, whatever the encoding
            options["protect_content"] = params.flag("protect_content")
        return self.world.record_bot_message(
            chat,
            message,
            method,
            reply_markup=reply_markup,
            file=file,
            copied_from=copied_from,
            options=options,
        )

    # -- simple methods ----------------------------------------------------------------------

    async def ok(self, params: Params) -> bool:
        """logOut/close: nothing to do locally."""
        return True

    async def get_me(self, params: Params) -> JSONDict:
        """getMe."""
        return {
            **self.world.bot.to_dict(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def set_webhook(self, params: Params) -> bool:
        """setWebhook, validated as Telegram does and recorded (``world.webhook``, and
        getWebhookInfo) — this server never calls the URL; an empty URL removes the webhook.
        While one is set, getUpdates is refused, as at Telegram."""
        url = params.text("url") or ""
        if not url:
            return await self.delete_webhook(params)
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        try:
            port = parts.port or 443
        except ValueError:
            port = 0
        if port not in WEBHOOK_PORTS:
            raise bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        secret = params.text("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        allowed = params.structured("allowed_updates", "allowed_updates")
        if allowed is not None and (
            not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed)
        ):
            raise bad_request("can't parse allowed_updates JSON object")
        if params.flag("drop_pending_updates"):
            self.world.updates.clear()
        if allowed is not None:
            self.world.allowed_updates = list(allowed)
        self.world.webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": params.integer("max_connections") or 40,
            "allowed_updates": allowed,
        }
        return True

    async def delete_webhook(self, params: Params) -> bool:
        """deleteWebhook; ``drop_pending_updates`` empties the update queue."""
        if params.flag("drop_pending_updates"):
            self.world.updates.clear()
        self.world.webhook = None
        return True

    async def get_webhook_info(self, params: Params) -> JSONDict:
        """getWebhookInfo: the URL set (never the secret) and the pending update count."""
        hook = self.world.webhook
        info: JSONDict = {
            "url": hook["url"] if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.world.updates),
        }
        if hook:
            info["max_connections"] = hook["max_connections"]
            if hook["allowed_updates"] is not None:
                info["allowed_updates"] = hook["allowed_updates"]
        return info

    async def get_chat(self, params: Params) -> JSONDict:
        """getChat for a private chat."""
        return _chat_full_info(self.target_chat(params).user)

    async def send_chat_action(self, params: Params) -> bool:
        """sendChatAction: remembered as the chat's last action."""
        chat = self.writable_chat(params)
        action = params.text("action")
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        chat.last_action = action
        return True

    # -- updates -----------------------------------------------------------------------------

    async def get_updates(self, params: Params) -> list[JSONDict]:
        """getUpdates with offset confirmation, limit, long-poll timeout and allowed_updates."""
        if self.world.webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        offset = params.integer("offset") or 0
        limit = min(max(params.integer("limit") or 100, 1), 100)
        timeout = max(params.integer("timeout") or 0, 0)
        allowed = params.structured("allowed_updates", "allowed_updates")
        if allowed is not None:
            if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
                raise bad_request("can't parse allowed_updates JSON object")
            self.world.allowed_updates = list(allowed)
        self.world.confirm_updates(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        await self.world.signal.wait_for(
            lambda: (
                self.closing
                or generation != self._poll_generation
                or bool(self.world.deliverable_updates(limit))
            ),
            timeout,
        )
        if generation != self._poll_generation:
            raise ApiError(409, POLL_CONFLICT)
        return copy.deepcopy(self.world.deliverable_updates(limit))

    # -- sending -----------------------------------------------------------------------------

    async def send_message(self, params: Params) -> JSONDict:
        """sendMessage."""
        chat = self.writable_chat(params)
        formatted = _message_text(params)
        markup = validate_reply_markup(params.structured("reply_markup", "reply keyboard markup"))
        content = _text_fields(formatted, "text", "entities")
        return self._deliver(chat, content, "sendMessage", params, reply_markup=markup).message

    async def send_location(self, params: Params) -> JSONDict:
        """sendLocation."""
        chat = self.writable_chat(params)
        latitude, longitude = params.number("latitude"), params.number("longitude")
        if latitude is None or not -90 <= latitude <= 90:
            raise bad_request("wrong latitude specified")
        if longitude is None or not -180 <= longitude <= 180:
            raise bad_request("wrong longitude specified")
        markup = validate_reply_markup(params.structured("reply_markup", "reply keyboard markup"))
        content = {"location": {"latitude": latitude, "longitude": longitude}}
        return self._deliver(chat, content, "sendLocation", params, reply_markup=markup).message

    async def send_contact(self, params: Params) -> JSONDict:
        """sendContact."""
        chat = self.writable_chat(params)
        phone, first_name = params.text("phone_number"), params.text("first_name")
        if not phone:
            raise bad_request("phone number is empty")
        if not first_name:
            raise bad_request("first name is empty")
        contact: JSONDict = {"phone_number": phone, "first_name": first_name}
        for key in ("last_name", "vcard"):
            if params.has(key):
                contact[key] = params.text(key)
        markup = validate_reply_markup(params.structured("reply_markup", "reply keyboard markup"))
        content = {"contact": contact}
        return self._deliver(chat, content, "sendContact", params, reply_markup=markup).message

    async def send_media(self, kind: str, params: Params) -> JSONDict:
        """sendPhoto/sendDocument/sendVoice/sendVideo/sendAudio/sendSticker."""
        chat = self.writable_chat(params)
        caption = _caption(params) if kind != "sticker" else None
        markup = validate_reply_markup(params.structured("reply_markup", "reply keyboard markup"))
        files = self._input_media(kind, params)
        media: Any = [f.to_dict() for f in files] if kind == "photo" else files[0].to_dict()
        content: JSONDict = {kind: media, **_text_fields(caption, "caption", "caption_entities")}
        if params.flag("has_spoiler"):
            content["has_media_spoiler"] = True
        method = f"send{kind.title()}"
        record = self._deliver(chat, content, method, params, reply_markup=markup, file=files[-1])
        return record.message

    def _input_media(self, kind: str, params: Params) -> list[StoredFile]:
        """The file(s) of a media message: a new upload or an existing file_id."""
        upload = params.upload(kind)
        if upload is not None:
            return self._store_upload(kind, upload, params)
        reference = params.text(kind)
        if not reference:
            raise bad_request(f"there is no {kind} in the request")
        if reference.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")
        stored = self.world.files.get(reference.strip())
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise bad_request(f"can't use file of type {stored.kind.title()} as {kind.title()}")
        return list(stored.photo_group) or [stored]

    def _store_upload(self, kind: str, upload: Upload, params: Params) -> list[StoredFile]:
        """Store an uploaded file with the metadata Telegram would report."""
        if not upload.data:
            raise bad_request("file must be non-empty")
        if kind == "photo":
            return self.world.store_photo(upload.data)
        guessed = mimetypes.guess_type(upload.filename or "")[0]
        mime = upload.content_type or guessed or DEFAULT_MIME[kind]
        if mime == "application/octet-stream" and guessed:
            mime = guessed
        extra: JSONDict = {}
        for key in ("performer", "title"):
            if kind == "audio" and params.has(key):
                extra[key] = params.text(key)
        size = (512, 512) if kind == "sticker" else (0, 0)
        if kind == "sticker":
            extra.update(is_animated=False, is_video=False, type="regular")
            if params.has("emoji"):
                extra["emoji"] = params.text("emoji")
        stored = self.world.store_file(
            kind,
            upload.data,
            file_name=upload.filename if kind in ("document", "video", "audio") else None,
            mime_type=mime,
            width=params.integer("width") or size[0],
            height=params.integer("height") or size[1],
            duration=params.integer("duration") or 0,
            extra=extra,
        )
        return [stored]

    async def copy_message(self, params: Params) -> JSONDict:
        """copyMessage: same content, no link to the original (never a forward_origin)."""
        chat = self.writable_chat(params)
        source_chat = self.target_chat(params, "from_chat_id")
        message_id = params.required_integer("message_id")
        source = source_chat.visible(message_id)
        if source is None:
            raise bad_request("message to copy not found")
        content = _copyable_content(source)
        kind = message_kind(content)
        if kind == "other":
            raise bad_request("message can't be copied")
        uncaptioned = ("text", "location", "contact", "sticker", "video_note")
        if kind not in uncaptioned and params.has("caption"):
            for key in ("caption", "caption_entities"):
                content.pop(key, None)
            content.update(_text_fields(_caption(params), "caption", "caption_entities"))
        markup = validate_reply_markup(params.structured("reply_markup", "reply keyboard markup"))
        record = self._deliver(
            chat,
            content,
            "copyMessage",
            params,
            reply_markup=markup,
            file=self._file_of(content),
            copied_from=(source_chat.id, message_id),
        )
        return {"message_id": record.message_id}

    async def forward_message(self, params: Params) -> JSONDict:
        """forwardMessage: the copy names its origin in ``forward_origin``."""
        chat = self.writable_chat(params)
        source_chat = self.target_chat(params, "from_chat_id")
        message_id = params.required_integer("message_id")
        source = source_chat.visible(message_id)
        if source is None:
            raise bad_request("message to forward not found")
        content = _copyable_content(source)
        content["forward_origin"] = copy.deepcopy(
            source.get("forward_origin")
            or {"type": "user", "sender_user": source["from"], "date": source["date"]}
        )
        record = self._deliver(
            chat,
            content,
            "forwardMessage",
            params,
            reply_markup=None,
            file=self._file_of(content),
            copied_from=(source_chat.id, message_id),
        )
        return record.message

    def _file_of(self, content: JSONDict) -> StoredFile | None:
        """The stored file behind a message's media (the largest photo size)."""
        media = content.get(message_kind(content))
        if isinstance(media, list) and media:
            media = media[-1]
        if isinstance(media, dict) and "file_id" in media:
            return self.world.files.get(media["file_id"])
        return None

    # -- editing and deleting ----------------------------------------------------------------

    def _editable(self, params: Params) -> BotMessage:
        """The bot message an edit targets, with Telegram's errors."""
        if params.has("inline_message_id") and not params.has("chat_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self.writable_chat(params)
        message_id = params.required_integer("message_id")
        if chat.visible(message_id) is None:
            raise bad_request("message to edit not found")
        record = chat.bot_message(message_id)
        if record is None or record.forward_origin is not None:
            raise bad_request("message can't be edited")
        return record

    def _apply_edit(
        self,
        record: BotMessage,
        fields: tuple[str, str],
        formatted: FormattedText | None,
        markup: JSONDict | None,
    ) -> JSONDict:
        """Change text or caption (``formatted``) and markup, keeping the old version."""
        key, entities_key = fields
        message = record.message
        inline = markup if _has_inline_buttons(markup) else None
        new_text = formatted.text if formatted is not None else message.get(key)
        new_entities = formatted.entities if formatted is not None else message.get(entities_key)
        old = (
            message.get(key) or None,
            message.get(entities_key) or [],
            message.get("reply_markup"),
        )
        if (new_text or None, new_entities or [], inline) == old:
            raise bad_request(NOT_MODIFIED)
        record.edits.append(record.snapshot(self.world.now()))
        for name, value in (
            (key, new_text),
            (entities_key, new_entities),
            ("reply_markup", inline),
        ):
            if value:
                message[name] = value
            else:
                message.pop(name, None)
        message["edit_date"] = self.world.timestamp()
        record.reply_markup = markup
        return copy.deepcopy(message)

    def _inline_markup(self, params: Params) -> JSONDict | None:
        """The ``reply_markup`` of an edit, which can only be an inline keyboard."""
        markup = validate_reply_markup(params.structured("reply_markup", "reply keyboard markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("inline keyboard expected")
        return markup

    async def edit_message_text(self, params: Params) -> JSONDict:
        """editMessageText (without reply_markup the inline keyboard is removed)."""
        record = self._editable(params)
        if record.kind != "text":
            raise bad_request("there is no text in the message to edit")
        formatted = _message_text(params)
        markup = self._inline_markup(params)
        return self._apply_edit(record, ("text", "entities"), formatted, markup)

    async def edit_message_caption(self, params: Params) -> JSONDict:
        """editMessageCaption (without caption the caption is removed)."""
        record = self._editable(params)
        if record.kind not in ("photo", "document", "voice", "video", "audio", "animation"):
            raise bad_request("there is no caption in the message to edit")
        formatted = _caption(params) or FormattedText("")
        markup = self._inline_markup(params)
        return self._apply_edit(record, ("caption", "caption_entities"), formatted, markup)

    async def edit_message_reply_markup(self, params: Params) -> JSONDict:
        """editMessageReplyMarkup (without reply_markup the keyboard is removed)."""
        record = self._editable(params)
        markup = self._inline_markup(params)
        fields = ("text", "entities") if record.kind == "text" else ("caption", "caption_entities")
        return self._apply_edit(record, fields, None, markup)

    async def delete_message(self, params: Params) -> bool:
        """deleteMessage: allowed within 48 hours of the message date."""
        chat = self.writable_chat(params)
        message_id = params.required_integer("message_id")
        message = chat.visible(message_id)
        if message is None:
            raise bad_request("message to delete not found")
        if self.world.timestamp() - message["date"] > DELETE_WINDOW.total_seconds():
            raise bad_request("message can't be deleted for everyone")
        chat.deleted.add(message_id)
        record = chat.bot_message(message_id)
        if record is not None:
            record.deleted = True
        return True

    # -- callback queries and files ----------------------------------------------------------

    async def answer_callback_query(self, params: Params) -> bool:
        """answerCallbackQuery: a query can be answered once."""
        query = self.world.callback_queries.get(params.text("callback_query_id") or "")
        if query is None or query.answered:
            raise bad_request(QUERY_TOO_OLD)
        text = params.text("text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        query.text = text
        query.show_alert = params.flag("show_alert")
        query.url = params.text("url")
        query.cache_time = params.integer("cache_time") or 0
        return True

    async def get_file(self, params: Params) -> JSONDict:
        """getFile: the path to download the file under ``/file/bot<token>/``."""
        file_id = params.text("file_id")
        if not file_id:
            raise bad_request("file_id is empty")
        stored = self.world.files.get(file_id)
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.size > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big")
        return stored.file_dict()

    # -- commands and menu button ------------------------------------------------------------

    def _command_key(self, params: Params) -> tuple[str, str]:
        """The storage key of a command list: canonical scope JSON and language code."""
        raw = params.structured("scope", "BotCommandScope") or {"type": "default"}
        if not isinstance(raw, dict) or raw.get("type") not in COMMAND_SCOPES:
            raise bad_request("can't parse BotCommandScope JSON object")
        scope: JSONDict = dict(raw)
        if "chat_id" in scope:
            chat_id = parse_chat_id(scope["chat_id"])
            if chat_id is None:
                raise bad_request("chat not found")
            scope = {**scope, "chat_id": chat_id}
        return scope_key(scope), params.text("language_code") or ""

    async def set_my_commands(self, params: Params) -> bool:
        """setMyCommands (an empty list deletes the list for that scope and language)."""
        commands = params.structured("commands", "bot commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse bot commands JSON object")
        validated: list[JSONDict] = []
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand JSON object")
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not _COMMAND.fullmatch(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            validated.append({"command": name, "description": description})
        key = self._command_key(params)
        if validated:
            self.world.commands[key] = validated
        else:
            self.world.commands.pop(key, None)
        return True

    async def get_my_commands(self, params: Params) -> list[JSONDict]:
        """getMyCommands for exactly that scope and language."""
        return list(self.world.commands.get(self._command_key(params), []))

    async def delete_my_commands(self, params: Params) -> bool:
        """deleteMyCommands."""
        self.world.commands.pop(self._command_key(params), None)
        return True

    # -- the bot's profile -------------------------------------------------------------------

    def _profile_language(self, params: Params) -> str:
        """A two-letter ISO 639-1 code, or "" for the texts shown when none matches."""
        code = params.text("language_code") or ""
        if code and not _LANGUAGE.fullmatch(code):
            raise bad_request("language code is invalid")
        return code

    async def set_profile(self, field_name: str, params: Params) -> bool:
        """setMyName, setMyDescription, setMyShortDescription: empty text removes the one of
        that language."""
        language = self._profile_language(params)
        text = params.text(field_name) or ""
        if len(text) > PROFILE_LIMITS[field_name]:
            raise bad_request(f"{field_name.upper()}_INVALID")
        if text:
            self.world.profile[(field_name, language)] = text
        else:
            self.world.profile.pop((field_name, language), None)
        return True

    async def get_profile(self, field_name: str, params: Params) -> JSONDict:
        """getMyName, getMyDescription, getMyShortDescription: that language's text, else the
        default one (for the name, else the account's first name)."""
        language = self._profile_language(params)
        profile = self.world.profile
        fallback = self.world.bot.first_name if field_name == "name" else ""
        text = profile.get((field_name, language)) or profile.get((field_name, ""), fallback)
        return {field_name: text}

    async def set_chat_menu_button(self, params: Params) -> bool:
        """setChatMenuButton for one chat or (without chat_id) the default."""
        button = params.structured("menu_button", "menu button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "commands",
            "web_app",
            "default",
        ):
            raise bad_request("can't parse menu button JSON object")
        if params.has("chat_id"):
            self.target_chat(params).menu_button = button
        else:
            self.world.default_menu_button = button
        return True

    async def get_chat_menu_button(self, params: Params) -> JSONDict:
        """getChatMenuButton."""
        button = self.world.default_menu_button
        if params.has("chat_id"):
            button = self.target_chat(params).menu_button or button
        return {"type": "commands"} if button.get("type") == "default" else dict(button)


def scope_key(scope: JSONDict) -> str:
    """Canonical text of a ``BotCommandScope``, the key commands are stored under."""
    return json.dumps(scope, sort_keys=True, separators=(",", ":"))


def menu_commands(world: World, user: User) -> list[JSONDict]:
    """The commands a Telegram client shows this user, resolved as Telegram documents.

    Order: chat scope, all private chats, default; each with the user's language first.
    """
    scopes: list[JSONDict] = [
        {"type": "chat", "chat_id": user.id},
        {"type": "all_private_chats"},
        {"type": "default"},
    ]
    languages = [user.language_code or "", ""]
    for scope in scopes:
        for language in languages:
            found = world.commands.get((scope_key(scope), language))
            if found:
                return list(found)
    return []

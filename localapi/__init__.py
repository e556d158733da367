"""A local Telegram Bot API server for end-to-end tests and the playground."""

from localapi.server import LocalBotApi
from localapi.state import BotMessage, CallbackQueryRecord, ControlError, User

__all__ = ["BotMessage", "CallbackQueryRecord", "ControlError", "LocalBotApi", "User"]

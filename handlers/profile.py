"""Publishing the bot's profile (bot/features/profile.py) to Telegram at start."""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.error import TelegramError

from bot.core.i18n import Catalogs
from bot.features.profile import Profile, profiles

log = logging.getLogger(__name__)


async def publish_profile(bot: Bot, catalogs: Catalogs) -> list[str]:
    """Name, description and short description in every language. A refusal is logged
    and the start goes on: the bot works without its profile. Returns what was refused."""
    refused = []
    for profile in profiles(catalogs):
        try:
            await _publish(bot, profile)
        except TelegramError as error:
            language = profile.language_code or "default"
            log.warning(
                "bot profile refused",
                extra={"language": language, "error": type(error).__name__},
            )
            refused.append(language)
    return refused


async def _publish(bot: Bot, profile: Profile) -> None:
    code = profile.language_code or None
    await bot.set_my_name(profile.name, language_code=code)
    await bot.set_my_description(profile.description, language_code=code)
    await bot.set_my_short_description(profile.short_description, language_code=code)

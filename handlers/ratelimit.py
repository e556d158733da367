"""How Bot API calls meet Telegram's flood limits (429 Too Many Requests with retry_after).

Most calls go through PTB's AIORateLimiter, which waits out retry_after and tries again.
Calls made inside `bot.core.pacing.self_paced()` (broadcasts) skip it: their pacer must hear of
the 429 at once to pause every one of its senders, not have one call quietly wait while the
schedule hands the others their slots.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram.ext import AIORateLimiter

from bot.core.pacing import is_self_paced

JSONDict = dict[str, Any]  # a Bot API answer, as PTB types it


class FloodLimiter(AIORateLimiter):
    async def process_request(  # noqa: PLR0917 - the signature is PTB's
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        if is_self_paced():
            return await callback(*args, **kwargs)
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )

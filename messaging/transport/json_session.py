"""aiogram's aiohttp session, sending each Bot API call as one JSON body.

aiogram posts every call as a form: each field prepared, nested objects (a keyboard) dumped to
JSON strings, then URL- or multipart-encoded. Telegram takes a JSON body as well, and for the
calls arbcast makes (text, keyboards, edits, callback answers) it is the cheaper encoding on
both ends: in the push sender, form building was an eighth of its CPU (docs/performance.md).
A call that uploads a file still goes as multipart, through aiogram's own path.

`before_write` (the GlobalRateLimiter's `LeasedTokens.before_write`) runs for every call that
counts against Telegram's flood limits right before its request is written: the last point
where waiting keeps a late request from crowding Telegram's one-second window.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods.base import TelegramType
from aiohttp import ClientError, ClientTimeout

from messaging.transport.flood_control import PACED_METHODS
from messaging.transport.write_window import Write

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import TelegramMethod
    from aiogram.types import InputFile

_JSON = {"Content-Type": "application/json"}


class JsonSession(AiohttpSession):
    def __init__(
        self, *, before_write: Callable[[], Awaitable[Write]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.before_write = before_write

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,
    ) -> TelegramType:
        files: dict[str, InputFile] = {}
        body: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is not None:
                body[key] = prepared
        gate = self.before_write if method.__api_method__ in PACED_METHODS else None
        if files:
            write = None if gate is None else await gate()
            try:
                return await super().make_request(bot, method, timeout)
            finally:
                if write is not None:
                    write.done()
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        data = self.json_dumps(body)
        write = None if gate is None else await gate()
        try:
            async with session.post(
                url,
                data=data,
                headers=_JSON,
                timeout=ClientTimeout(total=self.timeout if timeout is None else timeout),
            ) as resp:
                raw_result = await resp.text()
        except TimeoutError as e:
            raise TelegramNetworkError(method=method, message="Request timeout error") from e
        except ClientError as e:
            raise TelegramNetworkError(method=method, message=f"{type(e).__name__}: {e}") from e
        finally:
            if write is not None:
                write.done()
        response = self.check_response(
            bot=bot, method=method, status_code=resp.status, content=raw_result
        )
        return cast(TelegramType, response.result)

"""The HTTP session the bot talks to the Bot API through."""

from aiogram.client.session.aiohttp import AiohttpSession


class TelegramSession(AiohttpSession):
    """aiogram's aiohttp session, except that against a plain-HTTP Bot API server (a local one, the stand-in) it
    closes at once: aiogram waits 250 ms after closing for SSL connections to shut down, and there are none."""

    async def close(self) -> None:
        if self.api.base.startswith("https://"):
            await super().close()
        elif self._session is not None and not self._session.closed:
            await self._session.close()

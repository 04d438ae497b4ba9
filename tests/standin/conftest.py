import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.client.telegram import TelegramAPIServer

from bot.standin import BotAPIStandIn
from bot.telegram_session import TelegramSession
from tests.standin.world import TelegramClock


@pytest.fixture
def clock() -> TelegramClock:
    return TelegramClock()


@pytest.fixture
async def standin(clock: TelegramClock) -> AsyncIterator[BotAPIStandIn]:
    """Telegram's clock stands still unless the test moves it (link expiry, bans, the join-request window)."""
    async with BotAPIStandIn(now=clock) as server:
        yield server


@pytest.fixture
async def bot(standin: BotAPIStandIn) -> AsyncIterator[Bot]:
    session = TelegramSession(api=TelegramAPIServer.from_base(standin.base_url))
    bot = Bot("123456:TEST-token", session=session)
    yield bot
    await bot.session.close()


@pytest.fixture
async def run_bot(standin: BotAPIStandIn, bot: Bot) -> AsyncIterator[Callable[[Router], Awaitable[None]]]:
    """Starts a real Dispatcher polling the stand-in; stopped after the test."""
    running: list[tuple[Dispatcher, asyncio.Task[None]]] = []

    async def start(router: Router) -> None:
        dp = Dispatcher()
        dp.include_router(router)
        polling = dp.start_polling(
            bot, handle_signals=False, handle_as_tasks=False, polling_timeout=1, close_bot_session=False
        )
        running.append((dp, asyncio.create_task(polling)))
        await standin.wait_for(lambda: standin.calls_to("getMe"), what="the dispatcher to start")

    yield start
    for dp, task in running:
        await dp.stop_polling()
        await task

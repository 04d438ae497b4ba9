"""`journeybot run` as users run it: a separate process (killed and restarted), and webhook mode."""

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from bot.app import App, serve
from bot.db.engine import create_engine
from bot.db.migrations import upgrade
from bot.standin import BotAPIStandIn
from tests.conftest import EXAMPLE_JOURNEY, TOKEN, make_settings

SETTINGS_VARIABLES = (
    "BOT_TOKEN",
    "TELEGRAM_API_URL",
    "DATABASE_URL",
    "JOURNEY_FILE",
    "WEBHOOK_URL",
    "API_SECRET",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def polling(standin: BotAPIStandIn, process: asyncio.subprocess.Process, *, since: int) -> None:
    """Until the process asks for updates: starting Python and importing aiogram takes seconds on a busy machine.
    (Asks, not got an answer: an empty long poll answers only after its timeout, 25 s.)"""
    await standin.wait_for(
        lambda: standin.polls_started > since or process.returncode is not None,
        timeout=90,
        what="the bot process to start polling",
    )
    assert process.returncode is None, "the bot process exited before it polled"


@asynccontextmanager
async def bot_process(
    standin: BotAPIStandIn, database_url: str, cwd: Path, *, extra_env: dict[str, str] | None = None
) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    env |= {
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": standin.base_url,
        "DATABASE_URL": database_url,
        "JOURNEY_FILE": str(EXAMPLE_JOURNEY),
        "HTTP_PORT": str(free_port()),
        "LOG_LEVEL": "WARNING",
    }
    env |= extra_env or {}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=cwd, stderr=asyncio.subprocess.PIPE
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def test_restart_mid_survey_resumes_at_the_same_question(database_url: str, tmp_path: Path) -> None:
    engine = create_engine(database_url)
    await upgrade(engine)
    await engine.dispose()
    async with BotAPIStandIn(auto_settle=False) as standin:
        alice = standin.user(1001, "Alice", language_code="en")
        async with bot_process(standin, database_url, tmp_path) as process:
            await polling(standin, process, since=0)
            await alice.send("/start")
            await alice.expect("Question 1 of 4", timeout=20)
            await alice.click("A little")
            await alice.expect("Question 2 of 4", timeout=10)
        # SIGKILL above: nothing graceful happened. A new process picks the student up.
        polled = standin.polls_started
        async with bot_process(standin, database_url, tmp_path) as process:
            await polling(standin, process, since=polled)
            await alice.send("/start")
            resumed = await alice.expect("Question", timeout=20)
            assert "Question 2 of 4" in resumed.text
            await alice.click("Advanced")
            await alice.expect("Question 3 of 4", timeout=10)
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 15) == 0


async def test_run_refuses_a_database_that_is_not_migrated(tmp_path: Path) -> None:
    async with BotAPIStandIn() as standin:
        async with bot_process(standin, f"sqlite+aiosqlite:///{tmp_path}/empty.db", tmp_path) as process:
            assert await asyncio.wait_for(process.wait(), 30) == 1
            assert process.stderr is not None
            stderr = (await process.stderr.read()).decode()
        assert "journeybot migrate" in stderr
        assert "Traceback" not in stderr
        assert not standin.calls_to("getUpdates")


async def test_webhook_mode_answers_students_and_refuses_forged_requests(database_url: str, standin) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    settings = make_settings(database_url, standin, webhook_url=url, webhook_secret="hook-secret", http_port=port)
    app = App(settings)
    await upgrade(app.engine)
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, handle_signals=False, stop=stop))
    try:
        await standin.wait_for(lambda: standin.webhook.get("url") == url, timeout=10)
        assert standin.webhook["secret_token"] == "hook-secret"

        alice = standin.user(1001, "Alice", language_code="en")
        standin.auto_settle = False
        await alice.send("/start")
        await alice.expect("Question 1 of 4", timeout=10)

        update = {
            "update_id": 999,
            "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "/start"},
        }
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with http.post(url, json=update, headers=headers) as response:
                    assert response.status == 401
    finally:
        stop.set()
        await server
        await app.close()


@pytest.fixture
async def standin() -> AsyncIterator[BotAPIStandIn]:
    async with BotAPIStandIn() as server:
        yield server

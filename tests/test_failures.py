"""What happens to an update when something fails under it: the database goes away, the student is gone,
Telegram says they blocked the bot, or a thousand students press /start at once."""

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any, Protocol

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url

from bot.app import App
from bot.db.models import Event, OutboxMessage, OutboxStatus, Student
from bot.outbox.messages import Out
from bot.outbox.payloads import NudgePayload
from bot.outbox.queue import enqueue
from bot.services import student_path
from bot.standin import BotAPIStandIn, FakeUser
from journeys.clock import ManualClock
from journeys.events import EventType
from tests.conftest import World, make_settings, running_bot

TRY_AGAIN = "Something went wrong. Please try again in a minute."
TRY_AGAIN_RU = "Что-то пошло не так. Пожалуйста, попробуйте ещё раз через минуту."


# ----- a database that goes away -----------------------------------------------------------------


class Outage(Protocol):
    async def cut(self) -> None: ...
    async def restore(self) -> None: ...


class PostgresProxy:
    """A loopback TCP proxy between the bot and PostgreSQL: cut() is the server going away (open connections
    reset, new ones refused), restore() its return on the same address. The shared server is never touched."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connect, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _connect(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        self._open |= {client_writer, server_writer}
        for reader, writer in ((client_reader, server_writer), (server_reader, client_writer)):
            pipe = asyncio.create_task(self._pipe(reader, writer))
            self._pipes.add(pipe)
            pipe.add_done_callback(self._pipes.discard)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
        self._open.discard(writer)

    async def cut(self) -> None:
        self._cut()

    def _cut(self) -> None:
        assert self._server is not None
        self._server.close()
        self._server = None
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def restore(self) -> None:
        await self.start()  # the same port: the bot's URL does not change

    async def stop(self) -> None:
        if self._server is not None:
            self._cut()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)


class SqliteLock:
    """Another process holding SQLite's write lock (a backup, a long migration): every transaction of the bot
    (BEGIN IMMEDIATE) waits DATABASE_TIMEOUT and fails with "database is locked"."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._holder: sqlite3.Connection | None = None

    async def cut(self) -> None:
        self._holder = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        self._holder.execute("BEGIN EXCLUSIVE")

    async def restore(self) -> None:
        assert self._holder is not None
        self._holder.execute("ROLLBACK")
        self._holder.close()
        self._holder = None


@contextlib.asynccontextmanager
async def outage_of(database_url: str) -> AsyncIterator[tuple[str, Outage]]:
    """The URL the bot should use, and the switch that takes its database away and gives it back."""
    parsed = make_url(database_url)
    if parsed.get_backend_name() == "sqlite":
        assert parsed.database is not None
        yield database_url, SqliteLock(parsed.database)
        return
    proxy = PostgresProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    await proxy.start()
    try:
        yield parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False), proxy
    finally:
        await proxy.stop()


async def stored_answers(app: App, telegram_id: int) -> dict[str, Any]:
    async with app.uow() as uow:
        student = await uow.students.by_telegram_id(telegram_id)
        assert student is not None
        enrollment = await uow.enrollments.current(student.id, app.journey.id)
        assert enrollment is not None
        return dict(enrollment.answers)


async def test_a_database_outage_mid_survey_leaves_every_student_told_or_recorded(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with outage_of(database_url) as (url, outage):
        settings = make_settings(url, standin, database_timeout=1)
        async with running_bot(settings, clock) as app:
            alice = standin.user(1001, "Alice", language_code="en")
            bob = standin.user(1002, "Bob", language_code="en")
            ivan = standin.user(1003, "Иван", language_code="ru")
            await alice.send("/start")
            await alice.click("Never")  # answered before the outage: kept
            await bob.send("/start")

            caplog.set_level(logging.INFO)
            caplog.clear()
            await outage.cut()
            assert await alice.click("Beginner") == TRY_AGAIN  # a press during the outage is answered
            await bob.send("I write some scripts")  # a text gets a reply
            assert bob.last.text == TRY_AGAIN
            await ivan.send("/start")  # in the student's language
            assert ivan.last.text == TRY_AGAIN_RU
            assert await alice.click("Beginner") == TRY_AGAIN  # again: answered without waiting on the database
            failed = 4
            assert app.health.down

            await outage.restore()
            await asyncio.wait_for(app.health.wait_up(), 20)
            outage_log = list(caplog.records)
            await alice.click("Beginner")
            assert "Question 3 of 4" in alice.last.text
            assert await stored_answers(app, alice.id) == {"experience": "none", "level": "beginner"}
            await ivan.send("/start")
            assert "Вопрос 1 из 4" in ivan.last.text

    # one line per failed update and one each when the outage starts and ends; no traceback storm
    assert not [r for r in outage_log if r.exc_info], [r.getMessage() for r in outage_log if r.exc_info]
    per_update = [r for r in outage_log if r.name == "bot.handlers.errors"]
    assert len(per_update) == failed
    assert len({r.getMessage().split()[1] for r in per_update}) == failed  # each with its own update id
    health = [r.getMessage() for r in outage_log if r.name == "bot.db.health"]
    assert len(health) == 2
    assert health[0].startswith("database unavailable") and health[1].startswith("database is back")
    assert f"{failed} updates" in health[1]


async def test_a_bug_in_a_handler_is_answered_and_logged_once_with_its_traceback(
    world: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = world.student()
    await alice.send("/start")

    async def broken(*args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(student_path.StudentPath, "choose", broken)
    caplog.set_level(logging.INFO)
    caplog.clear()
    assert await alice.click("Never") == TRY_AGAIN
    with_traceback = [r for r in caplog.records if r.exc_info]
    assert len(with_traceback) == 1
    assert with_traceback[0].name == "bot.handlers.errors" and "failed" in with_traceback[0].getMessage()
    assert not world.app.health.down  # the database answered: a bug, not an outage


async def test_a_press_that_fails_after_it_was_answered_is_told_in_the_chat(world: World) -> None:
    alice = world.student()
    await alice.send("/start")
    world.standin.fail_next("editMessageText", status=400, description="Bad Request: something unexpected")
    await alice.click("Never")  # answered at once, then showing the answer on the question fails
    assert alice.last.text == TRY_AGAIN
    assert await stored_answers(world.app, alice.id) == {"experience": "none"}  # recorded, and told


# ----- a student who is gone -----------------------------------------------------------------------


async def blocked_at(app: App, telegram_id: int) -> datetime | None:
    async with app.uow() as uow:
        return await uow.session.scalar(select(Student.blocked_at).where(Student.telegram_id == telegram_id))


@pytest.mark.parametrize(
    ("command", "description"),
    [
        ("/progress", "Forbidden: user is deactivated"),  # the renderer's reply
        ("/help", "Forbidden: bot was blocked by the user"),  # a handler's own message.answer
    ],
)
async def test_a_direct_reply_that_finds_the_student_gone_marks_them_unreachable(
    world: World, caplog: pytest.LogCaptureFixture, command: str, description: str
) -> None:
    alice = world.student()
    await alice.send("/start")
    async with world.app.uow() as uow:
        student = await uow.students.by_telegram_id(alice.id)
        assert student is not None
        out = [Out.text("Waiting for Alice")]
        now = world.clock.now()
        await enqueue(
            uow.session,
            key="later",
            payload=NudgePayload(messages=out),
            chat_id=alice.id,
            due_at=now,
            now=now,
            student_id=student.id,
        )
        await uow.commit()
    caplog.set_level(logging.INFO)
    caplog.clear()
    world.standin.fail_next("sendMessage", status=403, description=description, chat_id=alice.id)
    await alice.send(command)

    assert await blocked_at(world.app, alice.id) is not None
    async with world.app.uow() as uow:
        status = await uow.session.scalar(select(OutboxMessage.status).where(OutboxMessage.key == "later"))
    assert status == OutboxStatus.CANCELLED
    assert not [r for r in caplog.records if r.exc_info]
    assert any("student marked blocked" in r.getMessage() for r in caplog.records)


async def events_of(app: App, type_: str) -> int:
    async with app.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(Event).where(Event.type == type_)) or 0)


async def test_a_student_who_blocks_the_bot_is_marked_from_my_chat_member_once_per_update(world: World) -> None:
    alice = world.student()
    await alice.send("/start")

    update = world.standin.block(alice.id)
    await world.standin.settle()
    assert await blocked_at(world.app, alice.id) is not None
    assert await events_of(world.app, EventType.BOT_BLOCKED) == 1

    assert update is not None
    world.clock.advance(timedelta(hours=1))
    marked = await blocked_at(world.app, alice.id)
    world.standin.push_update(dict(update))  # delivered again (not confirmed before a restart)
    await world.standin.settle()
    assert await events_of(world.app, EventType.BOT_BLOCKED) == 1
    assert await blocked_at(world.app, alice.id) == marked

    world.standin.unblock(alice.id)
    await world.standin.settle()
    assert await blocked_at(world.app, alice.id) is None
    assert await events_of(world.app, EventType.BOT_UNBLOCKED) == 1


async def test_the_bot_asks_telegram_for_my_chat_member(world: World) -> None:
    # polling derives allowed_updates from the handlers; without one Telegram would never send it
    world.student()
    await world.standin.wait_for(lambda: world.standin.calls_to("getUpdates"))
    assert "my_chat_member" in world.standin.calls_to("getUpdates")[-1].params["allowed_updates"]


# ----- a burst ---------------------------------------------------------------------------------------


async def test_a_burst_of_starts_is_answered_within_the_pool(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    # a short pool timeout: an update that waited for a connection would fail, not just be slow
    settings = make_settings(database_url, standin, database_pool_size=6, database_timeout=2)
    async with running_bot(settings, clock, handle_as_tasks=True) as app:
        in_use = peak = 0

        def checkout(*args: object) -> None:
            nonlocal in_use, peak
            in_use += 1
            peak = max(peak, in_use)

        def checkin(*args: object) -> None:
            nonlocal in_use
            in_use -= 1

        event.listen(app.engine.sync_engine, "checkout", checkout)
        event.listen(app.engine.sync_engine, "checkin", checkin)
        students: list[FakeUser] = [standin.user(10_000 + n, f"S{n}", language_code="en") for n in range(300)]
        for student in students:
            standin.push_message(student, student.id, "/start")

        def answered() -> list[FakeUser]:
            return [s for s in students if s.messages and "Question 1 of 4" in (s.last.text or "")]

        await standin.wait_for(lambda: len(answered()) == len(students), 120, what="every student's first question")
        assert not [s for s in students if any(m.text == TRY_AGAIN for m in s.messages)]
        assert peak <= app.update_slots == (1 if settings.is_sqlite else 2)  # SQLite: one writer

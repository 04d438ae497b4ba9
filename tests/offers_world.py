"""The offers' test world: the example journey (optionally with its offers changed), helpers to take a student
through the course and to see what the outbox and the event log hold."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from bot.app import App
from bot.db.models import Enrollment, Event, OfferShown, OutboxMessage
from bot.outbox.limiter import Limiter
from bot.standin import BotAPIStandIn, FakeUser
from bot.standin.server import StoredMessage
from journeys.clock import ManualClock
from tests.conftest import EXAMPLE_JOURNEY, make_settings, running_bot

Edit = Callable[[dict[str, Any]], None]


def journey_file(folder: Path, edit: Edit | None = None) -> Path:
    spec = yaml.safe_load(EXAMPLE_JOURNEY.read_text())
    if edit is not None:
        edit(spec)
    path = folder / "journey.en.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False))
    return path


def offer(spec: dict[str, Any], offer_id: str) -> dict[str, Any]:
    return next(o for o in spec["offers"] if o["id"] == offer_id)


@asynccontextmanager
async def offers_bot(
    database_url: str,
    standin: BotAPIStandIn,
    clock: ManualClock,
    folder: Path,
    edit: Edit | None = None,
    **settings: Any,
) -> AsyncIterator[App]:
    config = make_settings(database_url, standin, journey_file=journey_file(folder, edit), **settings)
    async with running_bot(config, clock) as app:
        app.sender.limiter = Limiter(1000, private_interval=0.01, group_interval=0.01)
        yield app


async def onboard(student: FakeUser) -> None:
    await student.send("/start")
    await student.click("Never")
    await student.click("Beginner")
    await student.click("Skip")
    await student.click("Yes, I know the format")


def done_button(student: FakeUser) -> tuple[StoredMessage, str]:
    for message in reversed(student.messages):
        for row in message.rows():
            for button in row:
                if button.get("callback_data", "").startswith("d:"):
                    return message, button["text"]
    raise LookupError("no Done button")


async def finish_steps(student: FakeUser, count: int = 5) -> None:
    for _ in range(count):
        message, text = done_button(student)
        await student.click(message, text)


async def drain(app: App) -> None:
    while await app.sender.drain_once():
        pass


async def rows(app: App, kind: str | None = None) -> list[OutboxMessage]:
    async with app.uow() as uow:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind:
            query = query.where(OutboxMessage.kind == kind)
        return list(await uow.session.scalars(query))


async def events(app: App, type_: str) -> list[Event]:
    async with app.uow() as uow:
        return list(await uow.session.scalars(select(Event).where(Event.type == type_).order_by(Event.id)))


async def enrollment(app: App, student: FakeUser) -> Enrollment:
    async with app.uow() as uow:
        record = await uow.students.by_telegram_id(student.id)
        assert record is not None
        found = await uow.enrollments.current(record.id, app.journey.id)
        assert found is not None
        return found


async def shown(app: App, enrollment_id: int) -> dict[str, OfferShown]:
    async with app.uow() as uow:
        found = await uow.session.scalars(select(OfferShown).where(OfferShown.enrollment_id == enrollment_id))
        return {row.offer_id: row for row in found}


async def tick(app: App) -> None:
    await app.ticker.tick()
    await drain(app)

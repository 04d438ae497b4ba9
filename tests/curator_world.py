"""The curator desk's test world: a bot with a curator group on the stand-in, and helpers to stall students."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from bot.app import App
from bot.curator.cards import AlertPress
from bot.db.models import Alert, OutboxMessage
from bot.outbox.limiter import Limiter
from bot.standin import BotAPIStandIn, FakeUser
from bot.standin.server import StoredMessage
from journeys.clock import ManualClock
from journeys.stalls import StallReasons
from tests.conftest import make_settings, running_bot

GROUP = -100777
BOB, CAROL_CURATOR, OUTSIDER, ADMIN = 2001, 2002, 3003, 4004
REASONS = StallReasons(idle_days=9.5, behind_steps=3, ladder_exhausted=True)
DAY = timedelta(days=1)


@dataclass
class Desk:
    app: App
    standin: BotAPIStandIn
    clock: ManualClock
    bob: FakeUser
    carol: FakeUser
    outsider: FakeUser

    def student(self, user_id: int = 1001, name: str = "Alice", **kw: object) -> FakeUser:
        kw = {"last_name": "Smith", "username": "alice"} | kw
        return self.standin.user(user_id, name, language_code="en", **kw)  # type: ignore[arg-type]

    async def drain(self) -> None:
        while await self.app.sender.drain_once():
            pass

    def group_messages(self, thread_id: int | None = None) -> list[StoredMessage]:
        return [m for m in self.standin.messages_in(GROUP, thread_id=thread_id) if not m.deleted]

    async def press(self, who: FakeUser, message: StoredMessage, data: str) -> str | None:
        callback_id = self.standin.push_callback(who, message.message_id, GROUP, data)
        await self.standin.settle()
        answer = self.standin.callback_answers.get(callback_id)
        return answer.text if answer else None

    async def job(self, name: str) -> None:
        async with self.app.uow() as uow:
            await getattr(self.app.desk, name)(uow, self.clock.now())
            await uow.commit()


async def desk_world(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock, *, forum: bool, **settings: object
) -> AsyncIterator[Desk]:
    standin.group(GROUP, "Curators", is_forum=forum, members={BOB: "member", CAROL_CURATOR: "administrator"})
    people = [
        standin.user(i, name, language_code="en")
        for i, name in ((BOB, "Bob"), (CAROL_CURATOR, "Carol"), (OUTSIDER, "Eve"))
    ]
    config = make_settings(database_url, standin, curator_chat_id=GROUP, admin_ids=frozenset({ADMIN}), **settings)
    async with running_bot(config, clock) as app:
        app.sender.limiter = Limiter(1000, private_interval=0.01, group_interval=0.01)
        yield Desk(app, standin, clock, *people)


async def onboard(student: FakeUser) -> None:
    await student.send("/start")
    await student.click("Never")
    await student.click("Beginner")
    await student.click("Skip")
    await student.click("Yes, I know the format")


async def enrollment_of(desk: Desk, student: FakeUser) -> int:
    async with desk.app.uow() as uow:
        record = await uow.students.by_telegram_id(student.id)
        assert record is not None
        enrollment = await uow.enrollments.current(record.id, desk.app.journey.id)
        assert enrollment is not None
        return enrollment.id


async def stalled(desk: Desk, student: FakeUser) -> int:
    """An active student marked stalled (as the stall detection would), without an alert yet."""
    await onboard(student)
    enrollment_id = await enrollment_of(desk, student)
    async with desk.app.uow() as uow:
        enrollment = await uow.enrollments.get(enrollment_id)
        assert enrollment is not None
        enrollment.stalled_at = desk.clock.now()
        await uow.commit()
    return enrollment_id


async def stall_at_once(desk: Desk, enrollment_ids: list[int]) -> None:
    """Their stall deadline is now: the next tick's stall detection finds them all in one batch."""
    async with desk.app.uow() as uow:
        for enrollment_id in enrollment_ids:
            enrollment = await uow.enrollments.get(enrollment_id)
            assert enrollment is not None
            enrollment.stall_at = desk.clock.now()
        await uow.commit()


async def raise_alert(desk: Desk, enrollment_id: int) -> bool:
    async with desk.app.uow() as uow:
        enrollment = await uow.enrollments.get(enrollment_id)
        assert enrollment is not None
        student = await uow.students.get(enrollment.student_id)
        assert student is not None
        raised = await desk.app.desk.raise_alert(uow, student, enrollment, REASONS, desk.clock.now())
        await uow.commit()
        return raised


async def alerts(desk: Desk) -> list[Alert]:
    async with desk.app.uow() as uow:
        return list(await uow.session.scalars(select(Alert).order_by(Alert.id)))


async def alert_message(desk: Desk, alert: Alert | None = None) -> StoredMessage:
    alert = alert or (await alerts(desk))[-1]
    assert alert.chat_id == GROUP and alert.message_id is not None
    found = desk.standin.message(GROUP, alert.message_id)
    assert found is not None
    return found


def data(alert: Alert, act: str) -> str:
    return AlertPress(alert=alert.id, act=act).pack()


async def outbox_rows(desk: Desk, kind: str) -> list[OutboxMessage]:
    async with desk.app.uow() as uow:
        query = select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        return list(await uow.session.scalars(query))

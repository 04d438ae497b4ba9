"""The curator desk: one alert per stalled enrollment, the buttons on it, the daily digest, and the relay
(bot/curator/relay.py) and topics (bot/curator/topics.py) it hosts.

Proactive messages to the group go through the outbox (DeskKind); the sender's hooks put them into the
student's forum topic and remember which group message belongs to which alert or student. Answers to a
button press are sent directly by the handler.
"""

import logging
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.curator import cards
from bot.curator.cards import Facts
from bot.curator.kinds import DeskKind
from bot.curator.permissions import Curators
from bot.curator.relay import Relay
from bot.curator.topics import Forums, Topics, forget, link
from bot.db.models import (
    ALERT_UNRESOLVED,
    Alert,
    AlertStatus,
    CuratorDigest,
    CuratorTopic,
    DigestDecision,
    Enrollment,
    OutboxMessage,
    OutboxStatus,
    Priority,
    Student,
)
from bot.db.repositories import EnrollmentRepository
from bot.db.uow import UnitOfWork, UnitOfWorkFactory
from bot.db.upsert import insert_ignore
from bot.i18n import Translations, Translator
from bot.outbox.messages import Out
from bot.outbox.queue import WAITING, enqueue
from bot.outbox.sender import OutboxSender
from bot.render import when
from bot.scheduler import Ticker
from bot.services.staff import Permission, StaffDirectory
from bot.settings import Settings
from bot.telegram_failure import TelegramFailure
from journeys.clock import Clock
from journeys.journey import EnrollmentStatus, Journey
from journeys.progress import Progress
from journeys.stalls import StallReasons

log = logging.getLogger(__name__)

OVERDUE = timedelta(hours=24)
DIGEST_WINDOW = timedelta(hours=1)  # a digest not decided (or not sent) this long after DIGEST_TIME is skipped
REPAIR_BATCH = 20

# why an enrollment counts as stalled at a moment (the engagement's stall detection decides it)
ReasonsAt = Callable[[UnitOfWork, Enrollment, datetime], Awaitable[StallReasons]]


@dataclass(frozen=True)
class PressOutcome:
    answer: str
    show_alert: bool = False
    text: str | None = None  # the alert message's new text, when it changed
    markup: InlineKeyboardMarkup | None = None


def _unresolved(enrollment_id: int) -> Any:
    return (Alert.enrollment_id == enrollment_id) & (Alert.status != AlertStatus.RESOLVED)


class CuratorDesk:
    def __init__(
        self,
        settings: Settings,
        uow_factory: UnitOfWorkFactory,
        bot: Bot,
        journey: Journey,
        translations: Translations,
        clock: Clock,
        stall_reasons: ReasonsAt,
    ) -> None:
        self.chat_id = settings.curator_chat_id
        self.stall_reasons = stall_reasons
        self._uow, self.journey, self.clock, self.tz = uow_factory, journey, clock, settings.tz
        self.digest_at = settings.digest_at
        # wide enough for two ticks, whatever the clock speed: a fast clock must not tick past the window
        ticks = timedelta(seconds=2 * settings.scheduler_tick_seconds * settings.clock_speed)
        self.digest_window = max(DIGEST_WINDOW, ticks)
        self.t = translations.get(journey.spec.language)  # the group speaks the school's language
        self.staff = StaffDirectory(settings.admin_ids)
        self.curators = Curators(bot, self.chat_id, settings.admin_ids, staff=self._curates)
        self.forums = Forums(bot)
        self.topics = Topics(uow_factory, bot, self._describe, clock.now, wake=lambda: self.wake())
        self.relay = Relay(self.chat_id, uow_factory, clock, self.forums, self.t, wake=lambda: self.wake())
        self.wake: Callable[[], None] = lambda: None
        if self.chat_id is None:
            log.warning("CURATOR_CHAT_ID is not set: curator alerts, topics and /curator are off")

    @property
    def enabled(self) -> bool:
        return self.chat_id is not None

    def register(self, ticker: Ticker, sender: OutboxSender) -> None:
        if not self.enabled:
            return
        ticker.add("curator.snoozed", self.return_snoozed)
        ticker.add("curator.digest", self.queue_digest)
        ticker.add("curator.topics", self.repair_topics)
        sender.add_hook(DeskKind.ALERT, before=self._into_topic, after=self._alert_sent)
        sender.add_hook(DeskKind.RELAY, before=self._into_topic, after=self.relay.relayed)
        sender.add_hook(DeskKind.REPLY, after=self.relay.reply_sent, failed=self.relay.reply_failed)
        sender.add_hook(DeskKind.CARD, after=self.topics.card_sent)
        self.wake = sender.wake

    # ----- alerts --------------------------------------------------------------------------------

    async def raise_alert(
        self, uow: UnitOfWork, student: Student, enrollment: Enrollment, reasons: StallReasons, now: datetime
    ) -> bool:
        """Queues an alert for a stalled enrollment; False when off or one is already unresolved."""
        if self.chat_id is None:
            return False
        session = uow.session
        if await session.scalar(select(Alert.id).where(_unresolved(enrollment.id))) is not None:
            return False
        module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        # the partial unique index settles a race between two raisers: the loser inserts nothing
        statement = (
            module.insert(Alert)
            .values(
                enrollment_id=enrollment.id,
                student_id=student.id,
                status=AlertStatus.OPEN,
                reasons=reasons.to_json(),
                opened_at=now,
            )
            .on_conflict_do_nothing(index_elements=["enrollment_id"], index_where=ALERT_UNRESOLVED)
            .returning(Alert.id)
        )
        alert_id = await session.scalar(statement)
        if alert_id is None:
            return False
        alert = await session.get(Alert, alert_id)
        assert alert is not None
        await self._post(session, alert, student, enrollment, f"alert:{alert.id}", now)
        uow.events.record("alert_raised", now, student_id=student.id, enrollment_id=enrollment.id, alert=alert.id)
        self.wake()
        return True

    async def _curates(self, user_id: int) -> bool:
        async with self._uow() as uow:
            return await self.staff.can(uow, user_id, Permission.CURATE)

    async def on_progress(
        self, uow: UnitOfWork, student: Student, enrollment: Enrollment, step_id: str, now: datetime
    ) -> None:
        """The student moved on: their alert resolves itself and the group sees it."""
        if self.chat_id is None:
            return
        alert = await uow.session.scalar(select(Alert).where(_unresolved(enrollment.id)).with_for_update())
        if alert is None:
            return
        alert.status, alert.resolved_at, alert.resolved_by = AlertStatus.RESOLVED, now, None
        alert.snoozed_until = None
        await self._show_resolved(uow.session, alert, now)
        uow.events.record(
            "alert_resolved", now, student_id=student.id, enrollment_id=enrollment.id, alert=alert.id, by=None
        )

    async def _post(
        self, session: AsyncSession, alert: Alert, student: Student, enrollment: Enrollment, key: str, now: datetime
    ) -> None:
        assert self.chat_id is not None
        facts = await self._facts(session, student, enrollment)
        text = cards.alert_text(alert, facts, self.t, self.tz)
        await enqueue(
            session,
            key=key,
            kind=DeskKind.ALERT,
            chat_id=self.chat_id,
            messages=[Out.text(text, cards.alert_keyboard(alert, self.t))],
            due_at=now,
            now=now,
            priority=Priority.URGENT,
            # no student_id on group rows: a failing group must not mark the student as blocked
            extra={"alert_id": alert.id, "curator_student": student.id},
        )

    async def _show_resolved(self, session: AsyncSession, alert: Alert, now: datetime) -> None:
        await session.flush()
        # a post still waiting is dropped; one already in flight is edited by its after-send hook
        await session.execute(
            update(OutboxMessage)
            .where(
                or_(OutboxMessage.key == f"alert:{alert.id}", OutboxMessage.key.like(f"alert:{alert.id}:back:%")),
                OutboxMessage.status.in_(WAITING),
            )
            .values(status=OutboxStatus.CANCELLED, last_error="alert resolved before it was posted")
        )
        if alert.chat_id is None or alert.message_id is None:
            return
        student = await session.get(Student, alert.student_id)
        enrollment = await session.get(Enrollment, alert.enrollment_id)
        assert student is not None and enrollment is not None
        text = cards.alert_text(alert, await self._facts(session, student, enrollment), self.t, self.tz)
        await enqueue(
            session,
            key=f"alert:{alert.id}:resolved:{alert.message_id}",
            kind=DeskKind.EDIT,
            chat_id=alert.chat_id,
            messages=[Out.edit(alert.message_id, text)],
            due_at=now,
            now=now,
            priority=Priority.URGENT,
        )
        self.wake()

    # ----- buttons -------------------------------------------------------------------------------

    async def press(
        self, *, alert_id: int, act: str, chat_id: int, message_id: int, user_id: int, user_name: str, t: Translator
    ) -> PressOutcome:
        """A curator pressed a button on an alert message; the caller checked they are a curator."""
        now = self.clock.now()
        async with self._uow() as uow:
            alert = await uow.session.get(Alert, alert_id)
            if alert is not None and alert.message_id is None and chat_id == self.chat_id:
                # Telegram showed the post before the sender recorded its id: a quick curator is pressing
                # that very message (the caller has checked they are a curator)
                alert.chat_id, alert.message_id = chat_id, message_id
            # the data names an alert; only that alert's own message may act on it
            if alert is None or (alert.chat_id, alert.message_id) != (chat_id, message_id):
                return PressOutcome(t("This button is no longer active."))
            if act == "write":
                return await self._how_to_write(uow.session, alert, t)
            allowed, values, answer = self._change(act, now, user_id, user_name, t)
            if allowed is None:
                return PressOutcome(t("This button is no longer active."))
            result = await uow.session.execute(
                update(Alert).where(Alert.id == alert.id, Alert.status.in_(allowed)).values(**values)
            )
            alert = await uow.session.scalar(
                select(Alert).where(Alert.id == alert_id).execution_options(populate_existing=True)
            )
            assert alert is not None
            if not result.rowcount:  # type: ignore[attr-defined]
                return self._refusal(alert, act, user_id, t)
            uow.events.record(
                f"alert_{values['status'].value}",
                now,
                student_id=alert.student_id,
                enrollment_id=alert.enrollment_id,
                alert=alert.id,
                by=user_id,
            )
            student = await uow.session.get(Student, alert.student_id)
            enrollment = await uow.session.get(Enrollment, alert.enrollment_id)
            assert student is not None and enrollment is not None
            facts = await self._facts(uow.session, student, enrollment)
            await uow.commit()
        text = cards.alert_text(alert, facts, self.t, self.tz, resolver=user_name)
        return PressOutcome(answer, text=text, markup=cards.alert_keyboard(alert, self.t))

    def _change(
        self, act: str, now: datetime, user_id: int, user_name: str, t: Translator
    ) -> tuple[tuple[AlertStatus, ...] | None, dict[str, Any], str]:
        """Which states the press applies to, what it writes, and the answer when it does."""
        if act == "take":
            values = {"status": AlertStatus.TAKEN, "taken_by": user_id, "taken_by_name": user_name[:128]}
            return (AlertStatus.OPEN,), values | {"taken_at": now}, t("Taken ✓ The student is yours.")
        if act in ("s1", "s3"):
            until = now + timedelta(days=int(act[1]))
            values = {"status": AlertStatus.SNOOZED, "snoozed_until": until}
            date = when(until, t, self.tz)
            return (AlertStatus.OPEN, AlertStatus.TAKEN), values, t("Snoozed until {date}.", date=date)
        if act == "done":
            values = {"status": AlertStatus.RESOLVED, "resolved_at": now, "resolved_by": user_id}
            values |= {"snoozed_until": None}
            return (AlertStatus.OPEN, AlertStatus.TAKEN, AlertStatus.SNOOZED), values, t("Resolved ✓")
        return None, {}, ""

    def _refusal(self, alert: Alert, act: str, user_id: int, t: Translator) -> PressOutcome:
        if alert.status is AlertStatus.RESOLVED:
            return PressOutcome(t("This alert is already resolved."))
        if alert.status is AlertStatus.TAKEN and act == "take":
            if alert.taken_by == user_id:
                return PressOutcome(t("You have already taken it."))
            return PressOutcome(t("{name} has already taken it.", name=alert.taken_by_name or "?"), show_alert=True)
        if alert.status is AlertStatus.SNOOZED and alert.snoozed_until is not None:
            date = when(alert.snoozed_until, t, self.tz)
            return PressOutcome(t("Snoozed until {date}.", date=date))
        return PressOutcome(t("This button is no longer active."))

    async def _how_to_write(self, session: AsyncSession, alert: Alert, t: Translator) -> PressOutcome:
        if alert.status is AlertStatus.RESOLVED:
            return PressOutcome(t("This alert is already resolved."))
        student = await session.get(Student, alert.student_id)
        name = student.display_name if student else "?"
        if alert.thread_id is not None:
            return PressOutcome(t("Write in this topic: every message here goes to {name}.", name=name), True)
        return PressOutcome(t("Reply to the alert message: your reply goes to {name}.", name=name), True)

    # ----- scheduled jobs ------------------------------------------------------------------------

    async def return_snoozed(self, uow: UnitOfWork, now: datetime) -> None:
        """A snooze ran out: still stalled, the alert is posted again; otherwise it resolves."""
        session = uow.session
        alerts = await session.scalars(
            select(Alert)
            .where(Alert.status == AlertStatus.SNOOZED, Alert.snoozed_until <= now)
            .order_by(Alert.snoozed_until)
            .limit(100)
        )
        for alert in list(alerts):
            enrollment = await session.get(Enrollment, alert.enrollment_id)
            student = await session.get(Student, alert.student_id)
            assert enrollment is not None and student is not None and alert.snoozed_until is not None
            ended = alert.snoozed_until
            if enrollment.stalled_at is not None and enrollment.status is EnrollmentStatus.ACTIVE:
                alert.status, alert.snoozed_until = AlertStatus.OPEN, None
                alert.taken_by = alert.taken_by_name = alert.taken_at = None
                alert.opened_at = now  # "untaken for a day" counts from its return
                # idle time and pace as of today, not as of the day it was raised
                alert.reasons = (await self.stall_reasons(uow, enrollment, now)).to_json()
                await session.flush()
                await self._post(
                    session, alert, student, enrollment, f"alert:{alert.id}:back:{ended:%Y%m%d%H%M%S}", now
                )
                uow.events.record("alert_returned", now, student_id=student.id, alert=alert.id)
            else:
                alert.status, alert.resolved_at, alert.resolved_by = AlertStatus.RESOLVED, now, None
                alert.snoozed_until = None
                await self._show_resolved(session, alert, now)
        self.wake()

    async def queue_digest(self, uow: UnitOfWork, now: datetime) -> None:
        """At most one digest a local day: decided once, at the first tick in DIGEST_TIME's window."""
        if self.chat_id is None:
            return
        session = uow.session
        local = now.astimezone(self.tz)
        opens = datetime.combine(local.date(), self.digest_at, self.tz)
        # a digest the sender could not send within its window is not sent late
        await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.kind == DeskKind.DIGEST,
                OutboxMessage.status.in_(WAITING),
                OutboxMessage.due_at < now - self.digest_window,
            )
            .values(status=OutboxStatus.CANCELLED, last_error="past its time window")
        )
        if local < opens:
            return
        decided = select(CuratorDigest.id).where(
            CuratorDigest.chat_id == self.chat_id, CuratorDigest.day == opens.date()
        )
        if await session.scalar(decided) is not None:
            return
        stats = None
        if now - opens >= self.digest_window:
            decision = DigestDecision.MISSED
        else:
            stats = await self._digest_stats(session, now)
            decision = DigestDecision.QUEUED if stats.unresolved or stats.resolved_yesterday else DigestDecision.QUIET
        values = {"chat_id": self.chat_id, "day": opens.date(), "decision": decision.value, "decided_at": now}
        # of two instances ticking at once, one decides
        if not await insert_ignore(session, CuratorDigest.__table__, values, key=["chat_id", "day"]):  # type: ignore[arg-type]
            return
        if stats is None or decision is not DigestDecision.QUEUED:
            return
        await enqueue(
            session,
            key=f"digest:{opens.date().isoformat()}",
            kind=DeskKind.DIGEST,
            chat_id=self.chat_id,
            messages=[Out.text(cards.digest_text(stats, self.t))],
            due_at=now,
            now=now,
            priority=Priority.NORMAL,
        )

    async def _digest_stats(self, session: AsyncSession, now: datetime) -> cards.DigestStats:
        local = now.astimezone(self.tz)
        today = local.replace(hour=0, minute=0, second=0, microsecond=0)
        yesterday = today - timedelta(days=1)

        async def count(*where: Any) -> int:
            return int(await session.scalar(select(func.count()).select_from(Alert).where(*where)) or 0)

        overdue = await session.scalars(
            select(Student)
            .join(Alert, Alert.student_id == Student.id)
            .where(Alert.status == AlertStatus.OPEN, Alert.opened_at < now - OVERDUE)
            .order_by(Alert.opened_at)
        )
        taken = await session.execute(
            select(Alert.opened_at, Alert.taken_at).where(Alert.taken_at >= now - timedelta(days=7))
        )
        hours = [(taken_at - opened).total_seconds() / 3600 for opened, taken_at in taken if taken_at]
        return cards.DigestStats(
            day=cards.day_label(now, self.t, self.tz),
            unresolved=await count(Alert.status != AlertStatus.RESOLVED),
            untaken=await count(Alert.status == AlertStatus.OPEN),
            overdue=[s.display_name for s in overdue],
            resolved_yesterday=await count(Alert.resolved_at >= yesterday, Alert.resolved_at < today),
            median_take_hours=statistics.median(hours) if hours else None,
        )

    async def repair_topics(self, uow: UnitOfWork, now: datetime) -> None:
        """Sends that failed because the student's topic was deleted: recreate it once and send again."""
        session = uow.session
        rows = await session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.status == OutboxStatus.FAILED,
                OutboxMessage.kind.in_((DeskKind.ALERT, DeskKind.RELAY)),
                OutboxMessage.failure == TelegramFailure.THREAD_GONE,
            )
            .limit(REPAIR_BATCH)
        )
        repairs: list[tuple[OutboxMessage, int, int | None]] = []
        for row in list(rows):
            if row.payload.get("topic_recreated"):
                row.failure = TelegramFailure.REFUSED  # the recreated topic failed too: leaves this scan for good
                continue
            student_id = int(row.payload["curator_student"])
            thread = await session.scalar(
                select(CuratorTopic.thread_id).where(
                    CuratorTopic.chat_id == row.chat_id, CuratorTopic.student_id == student_id
                )
            )
            repairs.append((row, student_id, thread))
        # the probes are requests to Telegram: no transaction stays open across them (on SQLite it would hold
        # the write lock for every other writer meanwhile)
        await uow.commit()
        gone = [
            (row, student_id, thread)
            for row, student_id, thread in repairs
            if thread is not None and not await self.topics.still_there(row.chat_id, thread)
        ]
        for row, student_id, thread in gone:
            assert thread is not None
            await forget(session, row.chat_id, student_id, thread)
        for row, _, _ in repairs:
            row.payload = dict(row.payload) | {"topic_recreated": True}
            row.status, row.due_at, row.claimed_by, row.claimed_at = OutboxStatus.PENDING, now, None, None
        self.wake()

    # ----- sender hooks --------------------------------------------------------------------------

    async def _into_topic(self, session: AsyncSession, row: OutboxMessage) -> int | None:
        if not await self.forums.is_forum(row.chat_id):
            return None
        return await self.topics.ensure(row.chat_id, int(row.payload["curator_student"]))

    async def _alert_sent(self, session: AsyncSession, row: OutboxMessage, ids: list[int]) -> None:
        alert = await session.get(Alert, int(row.payload["alert_id"]), with_for_update=True)
        if alert is None or not ids:
            return
        alert.chat_id, alert.message_id = row.chat_id, ids[-1]
        alert.thread_id = await session.scalar(
            select(CuratorTopic.thread_id).where(
                CuratorTopic.chat_id == row.chat_id, CuratorTopic.student_id == alert.student_id
            )
        )
        await link(session, row.chat_id, ids[-1], alert.student_id, self.clock.now())
        if alert.status is AlertStatus.RESOLVED:  # resolved while it was being sent
            await self._show_resolved(session, alert, self.clock.now())

    # ----- facts about a student -----------------------------------------------------------------

    async def _facts(self, session: AsyncSession, student: Student, enrollment: Enrollment | None) -> Facts:
        name = student.display_name or str(student.telegram_id)
        if enrollment is None or enrollment.track is None:
            answers = self._answers(enrollment.answers if enrollment else {})
            return Facts(name, student.username, None, None, None, answers)
        track = self.journey.track(enrollment.track) if self.journey.has_track(enrollment.track) else None
        if track is None:
            return Facts(name, student.username, enrollment.track, None, None, self._answers(enrollment.answers))
        completed = await EnrollmentRepository(session).completed_steps(enrollment.id)
        step = self.journey.step(enrollment.current_step) if enrollment.current_step else None
        if step is not None and step.id in track.steps:
            progress = Progress(track.steps.index(step.id) + 1, len(track.steps))
        else:
            step, progress = None, Progress(self.journey.done_count(enrollment.track, completed), len(track.steps))
        return Facts(
            name,
            student.username,
            track.title,
            step.title if step else None,
            progress,
            self._answers(enrollment.answers),
        )

    def _answers(self, answers: dict[str, Any]) -> list[tuple[str, str]]:
        shown = []
        for question in self.journey.questions:
            if question.id not in answers:
                continue
            value = answers[question.id]
            option = question.option(value) if value is not None and question.is_choice else None
            text = option.text if option else (self.t("skipped") if value is None else str(value))
            shown.append((question.id, text))
        return shown

    async def _describe(self, student_id: int) -> tuple[str, str]:
        async with self._uow() as uow:
            student = await uow.students.get(student_id)
            assert student is not None
            enrollment = await uow.enrollments.current(student_id, self.journey.id)
            facts = await self._facts(uow.session, student, enrollment)
        return cards.topic_name(student), cards.card_text(facts, self.t)

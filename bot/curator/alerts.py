"""Alerts in the curator group: one per stalled enrollment, raised, taken, snoozed and resolved; and sales leads
(a student asked a curator about an offer, or for the fit check's free consultation), taken and resolved.

The alert message goes through the outbox (OutboxKind.ALERT); its after-send hook remembers which group
message belongs to which alert. Answers to a button press are returned to the handler, which sends them.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup
from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.curator import cards
from bot.curator.cards import SNOOZE_DAYS, AlertAction
from bot.curator.facts import StudentFacts
from bot.curator.topics import link
from bot.db.models import (
    ALERT_UNRESOLVED,
    Alert,
    AlertKind,
    AlertStatus,
    CuratorTopic,
    Enrollment,
    OutboxMessage,
    OutboxStatus,
    Priority,
    Student,
)
from bot.db.uow import UnitOfWork, UnitOfWorkFactory
from bot.i18n import Translator
from bot.outbox.messages import Out
from bot.outbox.payloads import AlertEditPayload, AlertPayload
from bot.outbox.queue import WAITING, enqueue
from bot.render import when
from journeys.clock import Clock
from journeys.events import EventType
from journeys.journey import EnrollmentStatus
from journeys.stalls import StallReasons
from journeys.telegram_html import plain_text

# why an enrollment counts as stalled at a moment (the engagement's stall detection decides it)
ReasonsAt = Callable[[UnitOfWork, Enrollment, datetime], Awaitable[StallReasons]]

# what the log records when a curator's press moves an alert to a status
PRESS_EVENTS = {
    AlertStatus.TAKEN: EventType.ALERT_TAKEN,
    AlertStatus.SNOOZED: EventType.ALERT_SNOOZED,
    AlertStatus.RESOLVED: EventType.ALERT_RESOLVED,
}


@dataclass(frozen=True)
class PressOutcome:
    answer: str
    show_alert: bool = False
    text: str | None = None  # the alert message's new text, when it changed
    markup: InlineKeyboardMarkup | None = None


def _unresolved(enrollment_id: int, kind: AlertKind = AlertKind.STALL) -> Any:
    return (Alert.enrollment_id == enrollment_id) & (Alert.kind == kind) & (Alert.status != AlertStatus.RESOLVED)


class Alerts:
    def __init__(
        self,
        chat_id: int | None,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        tz: ZoneInfo,
        t: Translator,
        facts: StudentFacts,
        stall_reasons: ReasonsAt,
        wake: Callable[[], None],
    ) -> None:
        self.chat_id, self._uow, self.clock, self.tz, self.t = chat_id, uow_factory, clock, tz, t
        self.facts, self.stall_reasons, self.wake = facts, stall_reasons, wake

    def _offer_title(self, alert: Alert) -> str | None:
        """A lead's offer as its first line reads, for the curators."""
        found = self.facts.catalog.offer(alert.offer_id) if alert.offer_id else None
        if found is None:
            return None
        first = plain_text(found[1].text).strip().split("\n")[0].strip()
        return first if len(first) <= 120 else first[:119].rstrip() + "…"

    async def raise_alert(
        self, uow: UnitOfWork, student: Student, enrollment: Enrollment, reasons: StallReasons, now: datetime
    ) -> bool:
        """Queues an alert for a stalled enrollment; False when off or one is already unresolved."""
        return await self._open(uow, student, enrollment, AlertKind.STALL, None, reasons.to_json(), now)

    async def raise_lead(
        self, uow: UnitOfWork, student: Student, enrollment: Enrollment, offer_id: str | None, now: datetime
    ) -> bool:
        """Queues a sales lead (`offer_id` None: the free consultation); False when off or one is unresolved."""
        return await self._open(uow, student, enrollment, AlertKind.LEAD, offer_id, {}, now)

    async def _open(
        self,
        uow: UnitOfWork,
        student: Student,
        enrollment: Enrollment,
        kind: AlertKind,
        offer_id: str | None,
        reasons: dict[str, Any],
        now: datetime,
    ) -> bool:
        if self.chat_id is None:
            return False
        session = uow.session
        if await session.scalar(select(Alert.id).where(_unresolved(enrollment.id, kind))) is not None:
            return False
        module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        # the partial unique index settles a race between two raisers: the loser inserts nothing
        statement = (
            module.insert(Alert)
            .values(
                enrollment_id=enrollment.id,
                student_id=student.id,
                kind=kind,
                offer_id=offer_id,
                status=AlertStatus.OPEN,
                reasons=reasons,
                opened_at=now,
            )
            .on_conflict_do_nothing(index_elements=["enrollment_id", "kind"], index_where=ALERT_UNRESOLVED)
            .returning(Alert.id)
        )
        alert_id = await session.scalar(statement)
        if alert_id is None:
            return False
        alert = await session.get(Alert, alert_id)
        assert alert is not None
        await self._post(session, alert, student, enrollment, f"alert:{alert.id}", now)
        uow.events.record(
            EventType.ALERT_RAISED, now, student_id=student.id, enrollment_id=enrollment.id, alert=alert.id, kind=kind
        )
        self.wake()
        return True

    async def on_progress(
        self, uow: UnitOfWork, student: Student, enrollment: Enrollment, step_id: str, now: datetime
    ) -> None:
        """The student moved on: their stall alert resolves itself and the group sees it (a lead stays)."""
        if self.chat_id is None:
            return
        alert = await uow.session.scalar(select(Alert).where(_unresolved(enrollment.id)).with_for_update())
        if alert is None:
            return
        alert.status, alert.resolved_at, alert.resolved_by = AlertStatus.RESOLVED, now, None
        alert.snoozed_until = None
        await self._show_resolved(uow.session, alert, now)
        uow.events.record(
            EventType.ALERT_RESOLVED, now, student_id=student.id, enrollment_id=enrollment.id, alert=alert.id, by=None
        )

    async def _post(
        self, session: AsyncSession, alert: Alert, student: Student, enrollment: Enrollment, key: str, now: datetime
    ) -> None:
        assert self.chat_id is not None
        facts = await self.facts.of(session, student, enrollment)
        text = cards.alert_text(alert, facts, self.t, self.tz, offer_title=self._offer_title(alert))
        await enqueue(
            session,
            key=key,
            payload=AlertPayload(
                messages=[Out.text(text, cards.alert_keyboard(alert, self.t))],
                alert_id=alert.id,
                curator_student=student.id,
            ),
            # no student_id on group rows: a failing group must not mark the student as blocked
            chat_id=self.chat_id,
            due_at=now,
            now=now,
            priority=Priority.URGENT,
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
        facts = await self.facts.of(session, student, enrollment)
        text = cards.alert_text(alert, facts, self.t, self.tz, offer_title=self._offer_title(alert))
        await enqueue(
            session,
            key=f"alert:{alert.id}:resolved:{alert.message_id}",
            payload=AlertEditPayload(messages=[Out.edit(alert.message_id, text)]),
            chat_id=alert.chat_id,
            due_at=now,
            now=now,
            priority=Priority.URGENT,
        )
        self.wake()

    # ----- buttons -------------------------------------------------------------------------------

    async def press(
        self,
        *,
        alert_id: int,
        act: AlertAction,
        chat_id: int,
        message_id: int,
        user_id: int,
        user_name: str,
        t: Translator,
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
            if act == AlertAction.WRITE:
                return await self._how_to_write(uow.session, alert, t)
            if alert.kind is AlertKind.LEAD and act in SNOOZE_DAYS:  # a lead waits for nobody's progress
                return PressOutcome(t("This button is no longer active."))
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
                PRESS_EVENTS[values["status"]],
                now,
                student_id=alert.student_id,
                enrollment_id=alert.enrollment_id,
                alert=alert.id,
                by=user_id,
            )
            student = await uow.session.get(Student, alert.student_id)
            enrollment = await uow.session.get(Enrollment, alert.enrollment_id)
            assert student is not None and enrollment is not None
            facts = await self.facts.of(uow.session, student, enrollment)
            await uow.commit()
        text = cards.alert_text(alert, facts, self.t, self.tz, resolver=user_name, offer_title=self._offer_title(alert))
        return PressOutcome(answer, text=text, markup=cards.alert_keyboard(alert, self.t))

    def _change(
        self, act: AlertAction, now: datetime, user_id: int, user_name: str, t: Translator
    ) -> tuple[tuple[AlertStatus, ...] | None, dict[str, Any], str]:
        """Which states the press applies to, what it writes, and the answer when it does."""
        if act == AlertAction.TAKE:
            values = {"status": AlertStatus.TAKEN, "taken_by": user_id, "taken_by_name": user_name[:128]}
            return (AlertStatus.OPEN,), values | {"taken_at": now}, t("Taken ✓ The student is yours.")
        if act in SNOOZE_DAYS:
            until = now + timedelta(days=SNOOZE_DAYS[act])
            values = {"status": AlertStatus.SNOOZED, "snoozed_until": until}
            date = when(until, t, self.tz)
            return (AlertStatus.OPEN, AlertStatus.TAKEN), values, t("Snoozed until {date}.", date=date)
        if act == AlertAction.RESOLVE:
            values = {"status": AlertStatus.RESOLVED, "resolved_at": now, "resolved_by": user_id}
            values |= {"snoozed_until": None}
            return (AlertStatus.OPEN, AlertStatus.TAKEN, AlertStatus.SNOOZED), values, t("Resolved ✓")
        return None, {}, ""

    def _refusal(self, alert: Alert, act: AlertAction, user_id: int, t: Translator) -> PressOutcome:
        if alert.status is AlertStatus.RESOLVED:
            return PressOutcome(t("This alert is already resolved."))
        if alert.status is AlertStatus.TAKEN and act == AlertAction.TAKE:
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
            .where(Alert.status == AlertStatus.SNOOZED, Alert.snoozed_until <= now, Alert.kind == AlertKind.STALL)
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
                uow.events.record(EventType.ALERT_RETURNED, now, student_id=student.id, alert=alert.id)
            else:
                alert.status, alert.resolved_at, alert.resolved_by = AlertStatus.RESOLVED, now, None
                alert.snoozed_until = None
                await self._show_resolved(session, alert, now)
        self.wake()

    # ----- sender hooks --------------------------------------------------------------------------

    async def alert_sent(
        self, session: AsyncSession, row: OutboxMessage, payload: AlertPayload, ids: list[int]
    ) -> None:
        alert = await session.get(Alert, payload.alert_id, with_for_update=True)
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

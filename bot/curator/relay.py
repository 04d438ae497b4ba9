"""The relay between students and curators: /curator, then the student's next message goes to the group;
a curator's message in the student's topic, or a reply to a message about them, goes back to the student.

The group's messages go through the outbox (the sender's hooks link them to the student); what a student or
curator is told about their own message is returned to the handler, which answers directly.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from html import escape
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.curator import cards
from bot.curator.topics import Forums, link, linked_student, topic_student
from bot.db.models import Event, OutboxMessage, OutboxStatus, Priority, Student
from bot.db.uow import UnitOfWorkFactory
from bot.i18n import Translator
from bot.outbox.hooks import Failure
from bot.outbox.kinds import OutboxKind
from bot.outbox.messages import Out
from bot.outbox.payloads import CuratorNotePayload, RelayPayload, ReplyPayload
from bot.outbox.queue import enqueue
from journeys.clock import Clock
from journeys.events import EventType

log = logging.getLogger(__name__)

ASK_WINDOW = timedelta(days=1)  # after /curator, how long the next message still counts as the question
# one student's questions share the group's ~20 messages a minute with everyone's alerts
RELAY_LIMIT, RELAY_WINDOW = 3, timedelta(minutes=5)
# group messages whose after-send hook links them to the student
LINKED_KINDS = (OutboxKind.ALERT, OutboxKind.RELAY, OutboxKind.STUDENT_CARD)
LINK_WAIT = 10.0  # real seconds a reply waits for the link of a message the sender is still recording
LINK_POLL = 0.1


class Ask(StrEnum):
    OFF = "off"  # no curator chat configured
    UNKNOWN = "unknown"  # the person never started the bot
    ASKING = "asking"


class Relayed(StrEnum):
    IGNORED = "ignored"  # not addressed to a student: ordinary staff talk
    QUEUED = "queued"
    UNKNOWN = "unknown"  # a reply to one of the bot's messages that is about no student we know of


@dataclass(frozen=True)
class TooSoon:
    """The student's question was not relayed: they had RELAY_LIMIT relayed within RELAY_WINDOW."""

    relayed: int
    retry_at: datetime
    tz: ZoneInfo  # the student's


class Relay:
    def __init__(
        self,
        chat_id: int | None,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        forums: Forums,
        t: Translator,
        wake: Callable[[], None],
    ) -> None:
        self.chat_id, self._uow, self.clock, self.forums, self.t = chat_id, uow_factory, clock, forums, t
        self.wake = wake

    async def ask(self, telegram_id: int) -> Ask:
        """/curator or the button: the student's next message becomes their question."""
        if self.chat_id is None:
            return Ask.OFF
        async with self._uow() as uow:
            student = await uow.students.by_telegram_id(telegram_id)
            if student is None:
                return Ask.UNKNOWN
            student.asking_curator_at = self.clock.now()
            await uow.commit()
        return Ask.ASKING

    async def asking(self, telegram_id: int) -> bool:
        if self.chat_id is None:
            return False
        async with self._uow() as uow:
            at = await uow.session.scalar(select(Student.asking_curator_at).where(Student.telegram_id == telegram_id))
        return at is not None and at > self.clock.now() - ASK_WINDOW

    async def cancel_question(self, telegram_id: int) -> None:
        async with self._uow() as uow:
            await uow.session.execute(
                update(Student).where(Student.telegram_id == telegram_id).values(asking_curator_at=None)
            )
            await uow.commit()

    async def relay_question(self, telegram_id: int, message_id: int) -> bool | TooSoon:
        """Queues the student's message for the curator group; False if it was not awaited (a repeat),
        TooSoon (and nothing queued) when they had enough relayed lately."""
        if self.chat_id is None:
            return False
        try:
            forum = await self.forums.is_forum(self.chat_id)
        except Exception:
            log.exception("getChat(%s) failed; relaying as in a plain group", self.chat_id)
            forum = False
        now = self.clock.now()
        async with self._uow() as uow:
            student = await uow.students.by_telegram_id(telegram_id)
            if student is None:
                return False
            # clearing the flag conditionally: of two messages sent at once, one is the question
            cleared = await uow.session.execute(
                update(Student)
                .where(Student.id == student.id, Student.asking_curator_at.is_not(None))
                .values(asking_curator_at=None)
            )
            if not cleared.rowcount:  # type: ignore[attr-defined]
                return False
            # counted under the flag's row lock: of two questions at once only one gets here
            too_soon = await self._too_soon(uow.session, student, now)
            if too_soon is not None:
                await uow.commit()  # the question is answered (not awaited any more), just not relayed
                return too_soon
            copy = Out.copy(telegram_id, message_id)
            messages = [copy] if forum else [Out.text(cards.relay_header(student, self.t)), copy]
            await enqueue(
                uow.session,
                key=f"relay:{student.id}:{message_id}",
                payload=RelayPayload(messages=messages, curator_student=student.id),
                chat_id=self.chat_id,
                due_at=now,
                now=now,
                priority=Priority.URGENT,
            )
            uow.events.record(EventType.CURATOR_QUESTION, now, student_id=student.id)
            await uow.commit()
        self.wake()
        return True

    async def _too_soon(self, session: AsyncSession, student: Student, now: datetime) -> TooSoon | None:
        recent = list(
            await session.scalars(
                select(Event.occurred_at)
                .where(
                    Event.student_id == student.id,
                    Event.type == EventType.CURATOR_QUESTION,
                    Event.occurred_at > now - RELAY_WINDOW,
                )
                .order_by(Event.occurred_at.desc())
                .limit(RELAY_LIMIT)
            )
        )
        if len(recent) < RELAY_LIMIT:
            return None
        return TooSoon(len(recent), min(recent) + RELAY_WINDOW, ZoneInfo(student.timezone))

    async def curator_message(
        self, *, chat_id: int, message_id: int, thread_id: int | None, reply_to: int | None, to_bot: bool = False
    ) -> Relayed:
        """A message in the curator group: in a student's topic or replying to their message, it goes to them.

        `to_bot`: it replies to one of the bot's messages. Telegram shows a message to the group before the
        sender has stored which student it is about, so a reply to an unknown one waits for that link."""
        now = self.clock.now()
        async with self._uow() as uow:
            student_id = None
            if thread_id is not None:
                student_id = await topic_student(uow.session, chat_id, thread_id)
            if student_id is None and reply_to is not None:
                student_id = await linked_student(uow.session, chat_id, reply_to)
        if student_id is None and reply_to is not None and to_bot:
            student_id = await self._link_landing(chat_id, reply_to)
            if student_id is None:
                return Relayed.UNKNOWN
        if student_id is None:
            return Relayed.IGNORED
        async with self._uow() as uow:
            student = await uow.students.get(student_id)
            if student is None:
                return Relayed.UNKNOWN if to_bot else Relayed.IGNORED
            await enqueue(
                uow.session,
                key=f"reply:{chat_id}:{message_id}",
                payload=ReplyPayload(
                    messages=[Out.copy(chat_id, message_id)],
                    group_chat=chat_id,
                    group_message=message_id,
                    group_thread=thread_id,
                ),
                chat_id=student.telegram_id,
                student_id=student.id,
                due_at=now,
                now=now,
                priority=Priority.URGENT,
            )
            await link(uow.session, chat_id, message_id, student.id, now)
            uow.events.record(EventType.CURATOR_REPLIED, now, student_id=student.id)
            await uow.commit()
        self.wake()
        return Relayed.QUEUED

    async def _link_landing(self, chat_id: int, message_id: int) -> int | None:
        """The student a bot message is about, once the sender has recorded it; None when nothing that could
        record it is in flight (or it takes longer than LINK_WAIT). Short transactions: the sender must write."""
        deadline = time.monotonic() + LINK_WAIT
        while True:
            async with self._uow() as uow:
                # in flight first, then the link: a row that finishes in between has its link visible already
                in_flight = await uow.session.scalar(
                    select(OutboxMessage.id)
                    .where(
                        OutboxMessage.chat_id == chat_id,
                        OutboxMessage.kind.in_(LINKED_KINDS),
                        OutboxMessage.status == OutboxStatus.SENDING,
                    )
                    .limit(1)
                )
                student_id = await linked_student(uow.session, chat_id, message_id)
            if student_id is not None or in_flight is None or time.monotonic() > deadline:
                return student_id
            await asyncio.sleep(LINK_POLL)

    # ----- sender hooks --------------------------------------------------------------------------

    async def relayed(self, session: AsyncSession, row: OutboxMessage, payload: RelayPayload, ids: list[int]) -> None:
        for message_id in ids:
            await link(session, row.chat_id, message_id, payload.curator_student, self.clock.now())

    async def reply_sent(
        self, session: AsyncSession, row: OutboxMessage, payload: ReplyPayload, ids: list[int]
    ) -> None:
        """Staff see that the answer reached the student, under the curator's own message."""
        name = await self._student_name(session, row)
        await self._note_under_reply(session, row, payload, "delivered", self.t("✓ Delivered to {name}", name=name))

    async def reply_failed(
        self, session: AsyncSession, row: OutboxMessage, payload: ReplyPayload, failure: Failure
    ) -> None:
        """An answer that cannot reach the student is not lost silently: the curator is told why."""
        name = await self._student_name(session, row)
        if failure.unreachable:
            text = self.t("✗ Not delivered to {name}: they blocked the bot or deleted their account", name=name)
        else:
            text = self.t("✗ Not delivered to {name}: {reason}", name=name, reason=escape(failure.reason))
        await self._note_under_reply(session, row, payload, "undelivered", text)

    async def _student_name(self, session: AsyncSession, row: OutboxMessage) -> str:
        student = await session.get(Student, row.student_id) if row.student_id else None
        return escape(student.display_name if student else "?")

    async def _note_under_reply(
        self, session: AsyncSession, row: OutboxMessage, reply_to: ReplyPayload, what: str, text: str
    ) -> None:
        now = self.clock.now()
        reply = {"message_id": reply_to.group_message, "allow_sending_without_reply": True}
        await enqueue(
            session,
            key=f"{what}:{row.id}",
            payload=CuratorNotePayload(
                messages=[Out.text(text, reply_parameters=reply)], thread_id=reply_to.group_thread
            ),
            chat_id=reply_to.group_chat,
            due_at=now,
            now=now,
            priority=Priority.URGENT,
        )
        self.wake()

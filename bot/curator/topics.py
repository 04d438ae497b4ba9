"""Forum topics in the curator group: one per student, created once even when several sends race.

Telegram cannot list topics, so the thread id lives in CuratorTopic. The (chat, student) row is claimed
first with insert-ignore and committed; only the claimer calls createForumTopic, everyone else waits
for the stored id. Each step is its own short transaction, so no lock is held during a Telegram call.
The student card is queued with the thread id, so the outbox sends it (waiting out 429s, retrying) and pins it.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import CuratorTopic, OutboxMessage, Priority, RelayLink
from bot.db.uow import UnitOfWorkFactory
from bot.db.upsert import insert_ignore
from bot.outbox.messages import Out
from bot.outbox.payloads import StudentCardPayload, StudentCardPinPayload
from bot.outbox.queue import enqueue
from bot.telegram_errors import TelegramFailure, classify

log = logging.getLogger(__name__)

FORUM_TTL = 600.0  # seconds: a group turned into a forum (or back) is noticed within ten minutes
CLAIM_WAIT = 20.0  # seconds a racer waits for the claimer to store the thread id
POLL = 0.1

# student id → (topic name, pinned card text)
Describe = Callable[[int], Awaitable[tuple[str, str]]]


class TopicPending(Exception):
    """Another sender claimed the topic and did not finish: the outbox row is retried later."""


def topic_gone(error: BaseException) -> bool:
    return classify(error) is TelegramFailure.THREAD_GONE


class Forums:
    """Whether a chat is a forum (getChat), cached: it rarely changes and is asked on every group send."""

    def __init__(self, bot: Bot, *, ttl: float = FORUM_TTL) -> None:
        self.bot, self.ttl = bot, ttl
        self._cache: dict[int, tuple[bool, float]] = {}

    async def is_forum(self, chat_id: int) -> bool:
        cached = self._cache.get(chat_id)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        chat = await self.bot.get_chat(chat_id)
        value = bool(chat.is_forum)
        self._cache[chat_id] = (value, time.monotonic() + self.ttl)
        return value


class Topics:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        bot: Bot,
        describe: Describe,
        now: Callable[[], datetime],
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self._uow, self.bot, self.describe, self.now, self.wake = uow_factory, bot, describe, now, wake

    async def ensure(self, chat_id: int, student_id: int) -> int:
        """The student's thread id in the chat, creating the topic (and queuing its card) the first time."""
        deadline = time.monotonic() + CLAIM_WAIT
        while True:
            async with self._uow() as uow:
                topic = await uow.session.scalar(
                    select(CuratorTopic).where(CuratorTopic.chat_id == chat_id, CuratorTopic.student_id == student_id)
                )
                if topic is None:
                    claimed = await insert_ignore(
                        uow.session,
                        CuratorTopic.__table__,  # type: ignore[arg-type]
                        {"chat_id": chat_id, "student_id": student_id, "created_at": self.now()},
                        key=["chat_id", "student_id"],
                    )
                    await uow.commit()
                    if claimed:
                        return await self._create(chat_id, student_id)
                    continue  # lost the claim: wait for the winner below
                if topic.thread_id is not None:
                    return topic.thread_id
                claim_id = topic.id
            if time.monotonic() > deadline:
                await self._release(claim_id)
                raise TopicPending(f"topic for student {student_id} in {chat_id} is still being created")
            await asyncio.sleep(POLL)

    async def _create(self, chat_id: int, student_id: int) -> int:
        name, card = await self.describe(student_id)
        try:
            created = await self.bot.create_forum_topic(chat_id, name=name)
        except BaseException:
            await self._release_student(chat_id, student_id)
            raise
        thread_id = created.message_thread_id
        now = self.now()
        async with self._uow() as uow:
            await uow.session.execute(
                update(CuratorTopic)
                .where(CuratorTopic.chat_id == chat_id, CuratorTopic.student_id == student_id)
                .values(thread_id=thread_id)
            )
            await enqueue(
                uow.session,
                key=f"card:{chat_id}:{thread_id}",
                payload=StudentCardPayload(messages=[Out.text(card)], thread_id=thread_id, curator_student=student_id),
                chat_id=chat_id,
                due_at=now,
                now=now,
                priority=Priority.URGENT,
            )
            await uow.commit()
        self.wake()
        return thread_id

    async def card_sent(
        self, session: AsyncSession, row: OutboxMessage, payload: StudentCardPayload, ids: list[int]
    ) -> None:
        """The card is in the topic: remember it, let replies to it reach the student, and pin it."""
        if not ids:
            return
        thread_id, student_id, now = payload.thread_id, payload.curator_student, self.now()
        await session.execute(
            update(CuratorTopic)
            .where(CuratorTopic.chat_id == row.chat_id, CuratorTopic.thread_id == thread_id)
            .values(card_message_id=ids[-1])
        )
        await link(session, row.chat_id, ids[-1], student_id, now)
        await enqueue(
            session,
            key=f"card_pin:{row.chat_id}:{thread_id}",
            payload=StudentCardPinPayload(messages=[Out.pin(ids[-1])]),
            chat_id=row.chat_id,
            due_at=now,
            now=now,
            priority=Priority.URGENT,
        )
        self.wake()

    async def _release(self, claim_id: int) -> None:
        async with self._uow() as uow:
            await uow.session.execute(
                delete(CuratorTopic).where(CuratorTopic.id == claim_id, CuratorTopic.thread_id.is_(None))
            )
            await uow.commit()

    async def _release_student(self, chat_id: int, student_id: int) -> None:
        async with self._uow() as uow:
            await uow.session.execute(
                delete(CuratorTopic).where(
                    CuratorTopic.chat_id == chat_id,
                    CuratorTopic.student_id == student_id,
                    CuratorTopic.thread_id.is_(None),
                )
            )
            await uow.commit()

    async def still_there(self, chat_id: int, thread_id: int) -> bool:
        """Probes a stored topic with a chat action: Telegram refuses it for a deleted thread."""
        try:
            await self.bot.send_chat_action(chat_id, "typing", message_thread_id=thread_id)
        except TelegramBadRequest as e:
            if topic_gone(e):
                return False
            raise
        return True


async def forget(session: AsyncSession, chat_id: int, student_id: int, thread_id: int) -> None:
    """Drops a deleted topic, unless it was already replaced; the next send creates a new one."""
    await session.execute(
        delete(CuratorTopic).where(
            CuratorTopic.chat_id == chat_id,
            CuratorTopic.student_id == student_id,
            CuratorTopic.thread_id == thread_id,
        )
    )


async def link(session: AsyncSession, chat_id: int, message_id: int, student_id: int, now: datetime) -> None:
    """Remembers that a message in the curator chat is about this student (replies to it reach them)."""
    await insert_ignore(
        session,
        RelayLink.__table__,  # type: ignore[arg-type]
        {"chat_id": chat_id, "message_id": message_id, "student_id": student_id, "created_at": now},
        key=["chat_id", "message_id"],
    )


async def topic_student(session: AsyncSession, chat_id: int, thread_id: int) -> int | None:
    return await session.scalar(
        select(CuratorTopic.student_id).where(CuratorTopic.chat_id == chat_id, CuratorTopic.thread_id == thread_id)
    )


async def linked_student(session: AsyncSession, chat_id: int, message_id: int) -> int | None:
    return await session.scalar(
        select(RelayLink.student_id).where(RelayLink.chat_id == chat_id, RelayLink.message_id == message_id)
    )

"""Group sends that failed because the student's forum topic was deleted: recreate the topic once, send again."""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from bot.curator.topics import Topics, forget
from bot.db.models import CuratorTopic, OutboxMessage, OutboxStatus
from bot.db.uow import UnitOfWork
from bot.outbox.kinds import OutboxKind
from bot.outbox.payloads import AboutStudent, MalformedPayload, parse
from bot.telegram_failure import TelegramFailure

REPAIR_BATCH = 20


class TopicRepair:
    def __init__(self, topics: Topics, wake: Callable[[], None]) -> None:
        self.topics, self.wake = topics, wake

    async def repair(self, uow: UnitOfWork, now: datetime) -> None:
        """Sends that failed because the student's topic was deleted: recreate it once and send again."""
        session = uow.session
        rows = await session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.status == OutboxStatus.FAILED,
                OutboxMessage.kind.in_((OutboxKind.ALERT, OutboxKind.RELAY)),
                OutboxMessage.failure == TelegramFailure.THREAD_GONE,
            )
            .limit(REPAIR_BATCH)
        )
        repairs: list[tuple[OutboxMessage, AboutStudent, int | None]] = []
        for row in list(rows):
            try:
                payload = parse(row.kind, row.payload)
            except MalformedPayload:
                payload = None  # the sender gave it up unread; nothing here can mend it
            if not isinstance(payload, AboutStudent) or payload.topic_recreated:
                # the recreated topic failed too (or the row cannot be read): leaves this scan for good
                row.failure = TelegramFailure.REFUSED
                continue
            student_id = payload.curator_student
            thread = await session.scalar(
                select(CuratorTopic.thread_id).where(
                    CuratorTopic.chat_id == row.chat_id, CuratorTopic.student_id == student_id
                )
            )
            repairs.append((row, payload, thread))
        # the probes are requests to Telegram: no transaction stays open across them (on SQLite it would hold
        # the write lock for every other writer meanwhile)
        await uow.commit()
        gone = [
            (row, payload, thread)
            for row, payload, thread in repairs
            if thread is not None and not await self.topics.still_there(row.chat_id, thread)
        ]
        for row, payload, thread in gone:
            assert thread is not None
            await forget(session, row.chat_id, payload.curator_student, thread)
        for row, payload, _ in repairs:
            row.payload = payload.model_copy(update={"topic_recreated": True}).stored()
            row.status, row.due_at, row.claimed_by, row.claimed_at = OutboxStatus.PENDING, now, None, None
        self.wake()

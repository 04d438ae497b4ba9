"""The sender and the queue with typed payloads, on both databases: a wrong payload never reaches the table,
rows stored by the previous version are still sent, and a malformed row is given up once, with its reason."""

import logging
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from bot.app import App
from bot.db.models import OutboxMessage, OutboxStatus
from bot.outbox.limiter import Limiter
from bot.outbox.messages import Out
from bot.outbox.payloads import AlertPayload, NudgePayload, Payload
from bot.outbox.queue import enqueue, enqueue_many
from bot.outbox.sender import OutboxSender
from bot.standin import BotAPIStandIn
from bot.telegram_failure import TelegramFailure


def quick_sender(app: App) -> OutboxSender:
    return OutboxSender(app.uow, app.bot, app.clock, limiter=Limiter(1000, private_interval=0.01, group_interval=0.01))


async def store_raw(app: App, key: str, kind: str, chat_id: int, payload: Any) -> None:
    """A row as some earlier version (or a broken one) left it in the table, bypassing enqueue."""
    async with app.uow() as uow:
        now = app.clock.now()
        uow.session.add(OutboxMessage(key=key, kind=kind, chat_id=chat_id, payload=payload, due_at=now, created_at=now))
        await uow.commit()


async def stored(app: App) -> dict[str, OutboxMessage]:
    async with app.uow() as uow:
        found = {row.key: row for row in await uow.session.scalars(select(OutboxMessage))}
        uow.session.expunge_all()
        return found


def texts(standin: BotAPIStandIn, chat_id: int) -> list[str | None]:
    return [message.text for message in standin.messages_in(chat_id)]


async def test_a_payload_that_would_not_parse_back_is_refused_and_nothing_is_queued(app: App) -> None:
    now = app.clock.now()
    wrong: list[Payload] = [
        Payload(messages=[Out.text("no kind")]),  # the common part alone belongs to no kind
        AlertPayload.model_construct(messages=(Out.text("alert"),), curator_student=3),  # type: ignore[call-arg]
    ]
    async with app.uow() as uow:
        for payload in wrong:
            with pytest.raises((TypeError, ValidationError)):
                await enqueue(uow.session, key="wrong", payload=payload, chat_id=1001, due_at=now, now=now)
            with pytest.raises((TypeError, ValidationError)):
                await enqueue_many(uow.session, [("wrong", 1001, None)], payload=payload, due_at=now, now=now)
        assert await uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        # the kind column follows from the payload's type
        right = AlertPayload(messages=[Out.text("alert")], alert_id=7, curator_student=3)
        assert await enqueue(uow.session, key="right", payload=right, chat_id=-100500, due_at=now, now=now)
        await uow.commit()
    row = (await stored(app))["right"]
    assert (row.kind, row.payload["alert_id"], row.payload["curator_student"]) == ("alert", 7, 3)


async def test_rows_in_the_previous_version_s_json_are_sent_and_their_hooks_get_typed_payloads(
    app: App, standin: BotAPIStandIn
) -> None:
    standin.user(1001, "Alice")
    standin.group(-100500, "Curators")
    hello = {"method": "send_message", "text": "Hello"}
    # a plain row, an alert with its extras, and a row whose first part went out before a restart
    await store_raw(app, "nudge", "nudge", 1001, {"messages": [hello], "sent_parts": 0})
    await store_raw(
        app, "alert", "alert", -100500, {"messages": [hello], "sent_parts": 0, "alert_id": 7, "curator_student": 3}
    )
    parts = [{"method": "send_message", "text": "part 1"}, {"method": "send_message", "text": "part 2"}]
    await store_raw(app, "resumed", "cohort_start", 1001, {"messages": parts, "sent_parts": 1, "message_ids": [1]})
    seen: list[tuple[int, int, list[int]]] = []

    async def alert_sent(session: Any, row: OutboxMessage, payload: AlertPayload, ids: list[int]) -> None:
        seen.append((payload.alert_id, payload.curator_student, ids))

    sender = quick_sender(app)
    sender.add_hook(AlertPayload, after=alert_sent)
    assert await sender.drain_once() == 3
    assert texts(standin, 1001) == ["Hello", "part 2"]
    [alert] = standin.messages_in(-100500)
    assert seen == [(7, 3, [alert.message_id])]
    rows = await stored(app)
    assert {key: row.status for key, row in rows.items()} == dict.fromkeys(rows, OutboxStatus.SENT)
    assert rows["resumed"].payload["message_ids"] == [1, standin.messages_in(1001)[-1].message_id]


async def test_a_malformed_row_is_given_up_with_its_reason_and_the_chat_s_other_rows_still_go(
    app: App, standin: BotAPIStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    standin.user(1001, "Alice")
    await store_raw(app, "bad-method", "nudge", 1001, {"messages": [{"method": "drop_database"}]})
    await store_raw(app, "bad-kind", "carrier_pigeon", 1001, {"messages": [{"method": "send_message", "text": "x"}]})
    await store_raw(app, "not-an-object", "reward", 1001, ["Hello"])
    async with app.uow() as uow:
        now = app.clock.now()
        fine = NudgePayload(messages=[Out.text("Still here")])
        await enqueue(uow.session, key="fine", payload=fine, chat_id=1001, due_at=now, now=now)
        await uow.commit()
    caplog.set_level(logging.ERROR, logger="bot.outbox.sender")
    sender = quick_sender(app)
    assert await sender.drain_once() == 4
    assert await sender.drain_once() == 0  # given up for good: not claimed again and again
    assert texts(standin, 1001) == ["Still here"]
    rows = await stored(app)
    assert rows["fine"].status == OutboxStatus.SENT
    reasons = {
        "bad-method": "malformed nudge payload: messages.0: Value error, cannot send with 'drop_database'",
        "bad-kind": "unknown outbox kind 'carrier_pigeon'",
        "not-an-object": "malformed reward payload",
    }
    for key, reason in reasons.items():
        row = rows[key]
        assert (row.status, row.failure) == (OutboxStatus.FAILED, TelegramFailure.INTERNAL)
        assert row.last_error is not None and row.last_error.startswith(reason)
        assert any(f"outbox row {row.id} given up: {reason}" in r.getMessage() for r in caplog.records)
    assert sender.stats.failed == 3

"""The outbox sender through the Bot API stand-in and a real aiogram Bot, on both databases."""

import asyncio
import itertools
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.app import App
from bot.db.migrations import upgrade
from bot.db.models import OutboxMessage, OutboxStatus, Priority, Student
from bot.outbox.claims import claim_due
from bot.outbox.group_commit import GroupCommit
from bot.outbox.hooks import Failure
from bot.outbox.limiter import Limiter
from bot.outbox.messages import Out
from bot.outbox.payloads import NudgePayload
from bot.outbox.queue import enqueue
from bot.outbox.sender import OutboxSender
from bot.standin import BotAPIStandIn
from bot.telegram_failure import TelegramFailure
from journeys.clock import ManualClock
from tests.conftest import make_settings

LEASE = timedelta(seconds=120)


def quick_sender(app: App, **kw: Any) -> OutboxSender:
    """Pacing per chat shortened, so tests about outcomes do not wait a second per message."""
    limiter = Limiter(1000, private_interval=0.01, group_interval=0.01)
    return OutboxSender(app.uow, app.bot, app.clock, limiter=limiter, **kw)


async def queue(
    app: App,
    key: str,
    chat_id: int,
    *texts: str,
    due_in: timedelta = timedelta(0),
    student_id: int | None = None,
    priority: int = Priority.NORMAL,
) -> bool:
    async with app.uow() as uow:
        now = app.clock.now()
        queued = await enqueue(
            uow.session,
            key=key,
            payload=NudgePayload(messages=[Out.text(text) for text in texts or (key,)]),
            chat_id=chat_id,
            due_at=now + due_in,
            now=now,
            student_id=student_id,
            priority=priority,
        )
        await uow.commit()
    return queued


async def add_student(app: App, telegram_id: int) -> int:
    async with app.uow() as uow:
        now = app.clock.now()
        student = Student(
            telegram_id=telegram_id,
            first_name=f"User {telegram_id}",
            timezone="Europe/Moscow",
            created_at=now,
            last_activity_at=now,
        )
        uow.session.add(student)
        await uow.commit()
        return student.id


async def rows(app: App) -> dict[str, OutboxMessage]:
    async with app.uow() as uow:
        found = {row.key: row for row in await uow.session.scalars(select(OutboxMessage))}
        uow.session.expunge_all()  # kept loaded: leaving the unit of work rolls back, which would expire them
        return found


def delivered(standin: BotAPIStandIn) -> list[str]:
    return [c.params["text"] for c in standin.calls_to("sendMessage") if c.ok]


# ----- outcomes ------------------------------------------------------------------------------------


async def test_rows_are_sent_once_and_marked_sent_with_the_message_id(app: App, standin: BotAPIStandIn) -> None:
    standin.user(1001, "Alice")
    standin.user(1002, "Bob")
    await queue(app, "a", 1001, "Hello Alice")
    await queue(app, "b", 1002, "Hello Bob")
    sender = quick_sender(app)
    assert await sender.drain_once() == 2
    assert await sender.drain_once() == 0
    assert sorted(delivered(standin)) == ["Hello Alice", "Hello Bob"]
    stored = await rows(app)
    for key, chat_id in (("a", 1001), ("b", 1002)):
        row = stored[key]
        assert row.status == OutboxStatus.SENT
        assert row.sent_at == app.clock.now()
        assert row.telegram_message_id == standin.messages_in(chat_id)[-1].message_id
    assert sender.stats.sent == 2


async def test_rows_of_many_chats_going_out_together_share_their_state_transactions(
    app: App, standin: BotAPIStandIn
) -> None:
    for user_id in range(3001, 3041):
        standin.user(user_id, f"User {user_id}")
        await queue(app, f"row-{user_id}", user_id)
    sender = quick_sender(app)
    assert await sender.drain_once() == 40
    stored = await rows(app)
    assert all(row.status == OutboxStatus.SENT and row.telegram_message_id for row in stored.values())
    assert len(delivered(standin)) == 40
    # 40 rows each need a start and a sent mark: 80 commits one by one, a handful when grouped
    assert sender.state_transactions <= 10


async def test_a_row_due_later_waits_until_the_clock_reaches_it(
    app: App, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    standin.user(1001, "Alice")
    await queue(app, "later", 1001, due_in=timedelta(hours=3))
    sender = quick_sender(app)
    assert await sender.drain_once() == 0
    clock.advance(timedelta(hours=2, minutes=59))
    assert await sender.drain_once() == 0
    clock.advance(timedelta(minutes=1))
    assert await sender.drain_once() == 1
    assert delivered(standin) == ["later"]


async def test_the_same_key_queued_twice_is_one_row_and_one_message(app: App, standin: BotAPIStandIn) -> None:
    standin.user(1001, "Alice")
    assert await queue(app, "nudge:1:day3", 1001, "Still there?")
    assert not await queue(app, "nudge:1:day3", 1001, "Still there?")
    await quick_sender(app).drain_once()
    assert len(await rows(app)) == 1
    assert delivered(standin) == ["Still there?"]


async def test_429_pauses_everything_then_sends_the_same_message_exactly_once(app: App, standin: BotAPIStandIn) -> None:
    standin.user(1001, "Alice")
    standin.fail_next("sendMessage", status=429, retry_after=1)
    await queue(app, "a", 1001, "After the pause")
    sender = quick_sender(app)
    await sender.drain_once()
    calls = standin.calls_to("sendMessage")
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 1.0
    assert delivered(standin) == ["After the pause"]
    row = (await rows(app))["a"]
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 0)
    assert sender.stats.rate_limited == 1


async def test_a_student_who_blocked_the_bot_is_marked_and_their_other_rows_cancelled(
    app: App, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    standin.user(1001, "Alice")
    standin.user(1002, "Bob")
    standin.block(1001)
    alice, bob = await add_student(app, 1001), await add_student(app, 1002)
    await queue(app, "alice-1", 1001, student_id=alice)
    await queue(app, "alice-2", 1001, student_id=alice)
    await queue(app, "alice-later", 1001, student_id=alice, due_in=timedelta(days=1))
    await queue(app, "bob-1", 1002, student_id=bob)
    sender = quick_sender(app)
    await sender.drain_once()
    clock.advance(timedelta(days=2))
    await sender.drain_once()

    stored = await rows(app)
    assert stored["alice-1"].status == OutboxStatus.FAILED
    assert "blocked" in (stored["alice-1"].last_error or "")
    assert stored["alice-2"].status == OutboxStatus.CANCELLED
    assert stored["alice-later"].status == OutboxStatus.CANCELLED
    assert stored["bob-1"].status == OutboxStatus.SENT
    assert delivered(standin) == ["bob-1"]
    assert len([c for c in standin.calls_to("sendMessage") if c.chat_id == 1001]) == 1
    async with app.uow() as uow:
        blocked = {s.telegram_id: s.blocked_at for s in await uow.session.scalars(select(Student))}
    assert blocked[1001] is not None
    assert blocked[1002] is None
    assert sender.stats.blocked == 1


async def test_chat_not_found_is_handled_like_a_block(app: App, standin: BotAPIStandIn) -> None:
    standin.user(1002, "Bob")  # 1001 was never registered: the stand-in answers 400 chat not found
    ghost, bob = await add_student(app, 1001), await add_student(app, 1002)
    await queue(app, "ghost-1", 1001, student_id=ghost)
    await queue(app, "ghost-2", 1001, student_id=ghost, due_in=timedelta(hours=1))
    await queue(app, "bob-1", 1002, student_id=bob)
    await quick_sender(app).drain_once()
    stored = await rows(app)
    assert stored["ghost-1"].status == OutboxStatus.FAILED
    assert "chat not found" in (stored["ghost-1"].last_error or "")
    assert stored["ghost-2"].status == OutboxStatus.CANCELLED
    assert stored["bob-1"].status == OutboxStatus.SENT


async def test_another_bad_request_fails_the_row_without_retrying(app: App, standin: BotAPIStandIn) -> None:
    standin.user(1001, "Alice")
    await queue(app, "broken", 1001, "<b>unclosed")
    await queue(app, "fine", 1001, "fine")
    await quick_sender(app).drain_once()
    stored = await rows(app)
    assert stored["broken"].status == OutboxStatus.FAILED
    assert stored["broken"].attempts == 0
    assert "can't parse entities" in (stored["broken"].last_error or "")
    assert stored["fine"].status == OutboxStatus.SENT


async def test_server_errors_are_retried_after_a_backoff(app: App, standin: BotAPIStandIn, clock: ManualClock) -> None:
    standin.user(1001, "Alice")
    standin.fail_next("sendMessage", status=500, times=2)
    await queue(app, "a", 1001, "third time lucky")
    sender = quick_sender(app)
    await sender.drain_once()
    row = (await rows(app))["a"]
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)
    assert row.due_at == clock.now() + timedelta(seconds=2)  # real seconds through clock.speed (1)
    assert await sender.drain_once() == 0  # not due yet
    for _ in range(2):
        clock.advance(timedelta(minutes=10))
        await sender.drain_once()
    row = (await rows(app))["a"]
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 2)
    assert delivered(standin) == ["third time lucky"]
    assert sender.stats.retried == 2


async def test_server_errors_forever_fail_the_row_after_max_attempts(
    app: App, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    standin.user(1001, "Alice")
    standin.fail_next("sendMessage", status=502, times=100)
    await queue(app, "a", 1001)
    sender = quick_sender(app, max_attempts=3)
    for _ in range(5):
        await sender.drain_once()
        clock.advance(timedelta(hours=1))
    row = (await rows(app))["a"]
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 3)
    assert "TelegramServerError" in (row.last_error or "")
    assert len(standin.calls_to("sendMessage")) == 3


async def test_messages_to_one_chat_keep_their_order(app: App, standin: BotAPIStandIn) -> None:
    standin.user(1001, "Alice")
    standin.user(1002, "Bob")
    for n in range(6):
        await queue(app, f"alice-{n}", 1001, priority=Priority.URGENT if n == 4 else Priority.NORMAL)
        await queue(app, f"bob-{n}", 1002, priority=Priority.BULK)
    await quick_sender(app, batch=5).drain_once()
    await quick_sender(app).drain_once()
    texts = delivered(standin)
    assert [t for t in texts if t.startswith("alice")] == [f"alice-{n}" for n in range(6)]
    assert [t for t in texts if t.startswith("bob")] == [f"bob-{n}" for n in range(6)]


async def test_a_multi_part_row_resumes_at_the_part_that_failed(
    app: App, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    standin.user(1001, "Alice")
    standin.on_event(lambda line: "part 1" in line and standin.fail_next("sendMessage", status=500))
    await queue(app, "lesson", 1001, "part 1", "part 2", "part 3")
    sender = quick_sender(app)
    await sender.drain_once()
    row = (await rows(app))["lesson"]
    assert (row.status, row.payload["sent_parts"]) == (OutboxStatus.PENDING, 1)
    clock.advance(timedelta(minutes=1))
    await sender.drain_once()
    assert delivered(standin) == ["part 1", "part 2", "part 3"]
    row = (await rows(app))["lesson"]
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 1)
    assert row.telegram_message_id == standin.messages_in(1001)[-1].message_id
    assert len(row.payload["message_ids"]) == 3


async def test_hooks_choose_the_thread_and_see_the_message_ids(app: App, standin: BotAPIStandIn) -> None:
    standin.group(-100500, "Curators", is_forum=True)
    topic = await app.bot.create_forum_topic(-100500, "Alice")
    seen: list[tuple[int, list[int]]] = []

    async def before(session: Any, row: OutboxMessage, payload: NudgePayload) -> int:
        return topic.message_thread_id

    async def after(session: Any, row: OutboxMessage, payload: NudgePayload, message_ids: list[int]) -> None:
        seen.append((row.id, message_ids))

    sender = quick_sender(app)
    sender.add_hook(NudgePayload, before=before, after=after)
    await queue(app, "alert", -100500, "Alice is stuck")
    await sender.drain_once()
    [message] = standin.messages_in(-100500, thread_id=topic.message_thread_id)
    assert message.text == "Alice is stuck"
    assert seen == [((await rows(app))["alert"].id, [message.message_id])]


async def test_the_failed_hook_runs_once_a_row_is_given_up_and_not_on_retries(
    app: App, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    standin.user(1001, "Alice")
    standin.user(1002, "Bob")
    given_up: list[tuple[str, Failure]] = []

    async def failed(session: Any, row: OutboxMessage, payload: NudgePayload, failure: Failure) -> None:
        given_up.append((row.key, failure))

    sender = quick_sender(app)
    sender.add_hook(NudgePayload, failed=failed)
    standin.fail_next("sendMessage", status=500, chat_id=1001)
    standin.fail_next("sendMessage", status=400, description="Bad Request: message is too long", chat_id=1002)
    await queue(app, "retried", 1001)
    await queue(app, "refused", 1002)
    await sender.drain_once()
    assert given_up == [("refused", Failure("Bad Request: message is too long", TelegramFailure.REFUSED))]
    clock.advance(timedelta(minutes=1))
    standin.block(1001)
    await sender.drain_once()  # the retry finds Alice gone
    assert given_up[1] == ("retried", Failure("Forbidden: bot was blocked by the user", TelegramFailure.BLOCKED))
    assert len(given_up) == 2


async def test_a_claimed_row_cancelled_before_its_turn_is_not_sent(app: App, standin: BotAPIStandIn) -> None:
    standin.user(1001, "Alice")
    for n in range(3):
        await queue(app, f"a{n}", 1001)
    sender = OutboxSender(app.uow, app.bot, app.clock, limiter=Limiter(1000, private_interval=0.3))
    draining = asyncio.create_task(sender.drain_once())
    await standin.wait_for(lambda: delivered(standin), 3)
    async with app.uow() as uow:  # a canceller that also takes rows a sender holds but has not started
        await uow.session.execute(
            update(OutboxMessage).where(OutboxMessage.key == "a2").values(status=OutboxStatus.CANCELLED)
        )
        await uow.commit()
    await draining
    assert delivered(standin) == ["a0", "a1"]
    assert (await rows(app))["a2"].status == OutboxStatus.CANCELLED


# ----- claims and crashes --------------------------------------------------------------------------


async def test_a_row_left_sending_by_a_dead_worker_is_reclaimed_after_the_lease(
    app: App, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    standin.user(1001, "Alice")
    standin.user(1002, "Bob")
    await queue(app, "stale", 1001)
    await queue(app, "fresh", 1002)
    async with app.uow() as uow:
        for key, claimed_at in (("stale", clock.now() - 2 * LEASE), ("fresh", clock.now())):
            await uow.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.key == key)
                .values(status=OutboxStatus.SENDING, claimed_at=claimed_at, claimed_by="dead")
            )
        await uow.commit()
    assert await quick_sender(app, lease=LEASE).drain_once() == 1
    assert delivered(standin) == ["stale"]
    stored = await rows(app)
    assert (stored["stale"].status, stored["fresh"].status) == (OutboxStatus.SENT, OutboxStatus.SENDING)


async def test_a_killed_sender_s_row_is_sent_once_by_the_next_sender_after_the_lease(
    app: App, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    standin.user(1001, "Alice")
    await queue(app, "in-flight", 1001, "only once")
    claimed = asyncio.Event()

    async def hang(session: Any, row: OutboxMessage, payload: NudgePayload) -> None:
        claimed.set()
        await asyncio.Event().wait()  # killed before it sends anything

    first = quick_sender(app, lease=LEASE)
    first.add_hook(NudgePayload, before=hang)
    running = asyncio.create_task(first.run(asyncio.Event()))
    await asyncio.wait_for(claimed.wait(), 5)
    running.cancel()  # no graceful stop: the row stays claimed, like after SIGKILL
    await asyncio.gather(running, return_exceptions=True)
    assert (await rows(app))["in-flight"].status == OutboxStatus.SENDING

    second = quick_sender(app, lease=LEASE)
    assert await second.drain_once() == 0  # the lease still holds
    clock.advance(LEASE + timedelta(seconds=1))
    assert await second.drain_once() == 1
    assert delivered(standin) == ["only once"]
    assert (await rows(app))["in-flight"].status == OutboxStatus.SENT


async def test_claims_follow_priority_then_due_time(app: App, clock: ManualClock) -> None:
    await queue(app, "bulk", 1, priority=Priority.BULK)
    await queue(app, "normal-late", 2, due_in=timedelta(seconds=-1))
    await queue(app, "normal-early", 3, due_in=timedelta(seconds=-5))
    await queue(app, "urgent", 4, priority=Priority.URGENT)
    await queue(app, "future", 5, priority=Priority.URGENT, due_in=timedelta(seconds=1))
    async with app.uow() as uow:
        claimed = await claim_due(uow.session, now=clock.now(), limit=3, worker="w", lease=LEASE)
        await uow.commit()
    assert [row.key for row in claimed] == ["urgent", "normal-early", "normal-late"]
    assert {(row.status, row.claimed_by, row.claimed_at) for row in claimed} == {
        (OutboxStatus.SENDING, "w", clock.now())
    }


async def test_a_claim_takes_over_expired_rows_first_then_due_ones_within_its_limit(
    app: App, clock: ManualClock
) -> None:
    for n in range(4):
        await queue(app, f"due-{n}", 10 + n, priority=Priority.URGENT)
    await queue(app, "expired", 20, priority=Priority.BULK)
    await queue(app, "held", 21)
    async with app.uow() as uow:
        for key, claimed_at in (("expired", clock.now() - 2 * LEASE), ("held", clock.now())):
            await uow.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.key == key)
                .values(status=OutboxStatus.SENDING, claimed_at=claimed_at, claimed_by="dead")
            )
        await uow.commit()
    async with app.uow() as uow:
        claimed = await claim_due(uow.session, now=clock.now(), limit=3, worker="w", lease=LEASE)
        await uow.commit()
    # the held row is still within its lease; the expired one is taken although urgent rows wait
    assert sorted(row.key for row in claimed) == ["due-0", "due-1", "expired"]


async def test_run_sends_when_woken_and_a_stop_puts_unsent_rows_back(app: App, standin: BotAPIStandIn) -> None:
    standin.user(1001, "Alice")
    sender = OutboxSender(app.uow, app.bot, app.clock, tick=30)  # real per-chat pacing: 1 message/s
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    await asyncio.sleep(0.1)
    for n in range(3):
        await queue(app, f"m{n}", 1001)
    sender.wake()
    await standin.wait_for(lambda: delivered(standin), 3)
    stop.set()
    await asyncio.wait_for(running, 5)
    stored = await rows(app)
    assert stored["m0"].status == OutboxStatus.SENT
    assert {stored[k].status for k in ("m1", "m2")} == {OutboxStatus.PENDING}
    assert stored["m1"].claimed_by is None
    assert delivered(standin) == ["m0"]


# ----- pacing --------------------------------------------------------------------------------------


async def test_one_chat_gets_a_message_a_second_while_other_chats_go_at_once(app: App, standin: BotAPIStandIn) -> None:
    for user_id in range(2001, 2007):
        standin.user(user_id, f"User {user_id}")
    for n in range(5):
        await queue(app, f"busy-{n}", 2001)
    for user_id in range(2002, 2007):
        await queue(app, f"other-{user_id}", user_id)
    started = time.monotonic()
    await app.sender.drain_once()
    busy = standin.send_times(2001)
    others = [t for user_id in range(2002, 2007) for t in standin.send_times(user_id)]
    assert len(busy) == 5
    assert busy[-1] - busy[0] >= 3.8
    assert all(b - a >= 0.9 for a, b in itertools.pairwise(busy))
    assert len(others) == 5
    assert max(others) - started < 1.0
    assert [t for t in delivered(standin) if t.startswith("busy")] == [f"busy-{n}" for n in range(5)]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_senders_on_one_postgres_never_send_a_row_twice(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    apps = [App(make_settings(database_url, standin, send_rate=100), clock=clock) for _ in range(2)]
    try:
        await upgrade(apps[0].engine)
        for n in range(300):
            standin.user(10_000 + n, f"User {n}")
            await queue(apps[0], f"row-{n}", 10_000 + n, f"message {n}")
        for app in apps:  # small claims, so that the two really compete for rows
            app.sender = OutboxSender(app.uow, app.bot, clock, rate=100, batch=10)
        stop = asyncio.Event()
        runs = [asyncio.create_task(app.sender.run(stop)) for app in apps]
        await standin.wait_for(lambda: len(delivered(standin)) >= 300, 30)
        await asyncio.sleep(0.3)  # anything sent twice would show up now
        stop.set()
        await asyncio.wait_for(asyncio.gather(*runs), 10)
        counts = Counter(c.params["text"] for c in standin.calls_to("sendMessage"))
        assert len(counts) == 300
        assert set(counts.values()) == {1}
        assert {row.status for row in (await rows(apps[0])).values()} == {OutboxStatus.SENT}
        assert all(app.sender.stats.sent > 30 for app in apps)  # both took a share
    finally:
        for app in apps:
            await app.close()


# ----- the limiter on its own ----------------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def test_the_global_bucket_allows_a_second_s_burst_then_the_rate() -> None:
    t = FakeTime()
    limiter = Limiter(10, time=t, sleep=t.sleep)
    moments = []
    for chat in range(1, 31):
        await limiter.acquire(chat)
        limiter.done(chat)
        moments.append(t.now - 100)
    assert moments[:10] == [0.0] * 10
    # then the rate, evenly: no second holds more than ten, and the bucket does not fill up meanwhile
    assert moments[10:] == pytest.approx([1.0 + n / 10 for n in range(20)])


async def test_no_second_holds_more_than_the_rate_even_with_a_full_bucket() -> None:
    t = FakeTime()
    limiter = Limiter(10, time=t, sleep=t.sleep)
    moments = []
    for chat in range(1, 21):
        await limiter.acquire(chat)
        t.now += 0.05  # each request takes a while to be answered
        limiter.done(chat)
        moments.append(t.now - 100)
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(moments[::10]))


async def test_a_request_counts_until_it_is_answered_and_a_slot_never_given_back_expires() -> None:
    t = FakeTime()
    limiter = Limiter(2, time=t, sleep=t.sleep)
    await limiter.acquire(1)
    await limiter.acquire(2)  # both still on their way
    t.now += 5.0
    assert not limiter.try_acquire(3)  # tokens are back, but two requests are in flight
    limiter.done(1)
    assert not limiter.try_acquire(3)  # answered, it still counts for a second: it may have arrived just now
    t.now += 1.0
    assert limiter.try_acquire(3)
    t.now += 61.0  # chat 2 never answered, chat 3 neither
    assert limiter.try_acquire(4)


async def test_private_chats_get_one_a_second_and_groups_one_every_three() -> None:
    t = FakeTime()
    limiter = Limiter(100, time=t, sleep=t.sleep)
    for _ in range(3):
        await limiter.acquire(1001)
    assert t.now - 100 == pytest.approx(2.0)
    start = t.now
    for _ in range(3):
        await limiter.acquire(-100500)
    assert t.now - start == pytest.approx(6.0)


async def test_a_pause_holds_everything_then_restarts_without_a_burst() -> None:
    t = FakeTime()
    limiter = Limiter(10, time=t, sleep=t.sleep)
    limiter.pause(5)
    assert limiter.paused
    await limiter.acquire(1)
    assert t.now - 100 == pytest.approx(5.1)
    await limiter.acquire(2)
    assert t.now - 100 == pytest.approx(5.2)


async def test_a_chat_waiting_for_its_slot_does_not_hold_up_other_chats() -> None:
    limiter = Limiter(1000, private_interval=0.3)
    await limiter.acquire(1)
    started = time.monotonic()
    waiting = asyncio.create_task(limiter.acquire(1))
    await asyncio.sleep(0.01)
    await limiter.acquire(2)
    assert time.monotonic() - started < 0.1
    await waiting
    assert time.monotonic() - started >= 0.28


# ----- group commit --------------------------------------------------------------------------------


async def test_group_commit_answers_each_caller_in_order_and_a_failed_batch_fails_only_its_callers(app: App) -> None:
    batches: list[list[int]] = []

    async def write(session: Any, items: list[int]) -> list[int]:
        batches.append(items)
        if 13 in items:
            raise RuntimeError("the database said no")
        return [item * 10 for item in items]

    group = GroupCommit(app.uow, write)
    first = asyncio.ensure_future(group.submit(1))
    await asyncio.sleep(0)  # the flusher takes 1 alone; 2, 13 and 3 queue behind it and go together
    rest = [asyncio.ensure_future(group.submit(n)) for n in (2, 13, 3)]
    await asyncio.sleep(0)
    later = [asyncio.ensure_future(group.submit(n)) for n in (4, 5)]
    results = await asyncio.gather(first, *rest, *later, return_exceptions=True)
    assert results[0] == 10
    assert all(isinstance(r, RuntimeError) for r in results[1:4])
    assert results[4:] == [40, 50]
    assert batches[0] == [1] and sorted(n for batch in batches[1:] for n in batch) == [2, 3, 4, 5, 13]
    assert group.transactions == len(batches) - 1  # the failed one did not commit


async def test_group_commit_a_cancelled_caller_does_not_disturb_the_others(app: App) -> None:
    async def write(session: Any, items: list[int]) -> list[int]:
        await asyncio.sleep(0.01)
        return items

    group = GroupCommit(app.uow, write)
    waiting = [asyncio.ensure_future(group.submit(n)) for n in range(5)]
    await asyncio.sleep(0)
    waiting[2].cancel()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert results[:2] == [0, 1] and results[3:] == [3, 4]
    assert isinstance(results[2], asyncio.CancelledError)
    assert await group.submit(7) == 7  # and the next caller starts a new flush


def test_try_acquire_takes_a_free_slot_at_once_and_refuses_whatever_would_have_to_wait() -> None:
    t = FakeTime()
    limiter = Limiter(2, time=t, sleep=t.sleep)
    assert limiter.try_acquire(1) and limiter.try_acquire(2)  # the bucket's burst
    limiter.done(1)
    limiter.done(2)
    assert not limiter.try_acquire(3)  # bucket empty
    t.now += 0.5
    assert not limiter.try_acquire(1)  # a token is back, but chat 1 had one less than a second ago
    assert not limiter.try_acquire(3)  # a token is back, but a third in one second would exceed the rate
    t.now += 0.5
    assert limiter.try_acquire(3)
    limiter.done(3)
    t.now += 1.0
    limiter.pause(2)
    assert not limiter.try_acquire(4)  # Telegram said wait
    t.now += 2.5
    assert limiter.try_acquire(4)


async def test_try_acquire_does_not_jump_the_queue_of_waiting_acquires() -> None:
    t = FakeTime()
    gate = asyncio.Event()

    async def slow_sleep(seconds: float) -> None:
        await gate.wait()
        t.now += seconds

    limiter = Limiter(1, time=t, sleep=slow_sleep)
    await limiter.acquire(1)  # takes the only token
    limiter.done(1)
    waiting = asyncio.create_task(limiter.acquire(2))
    await asyncio.sleep(0)  # chat 2 holds the bucket's lock, waiting for a token
    t.now += 5  # tokens are back, but chat 2 was first
    assert not limiter.try_acquire(3)
    gate.set()
    await waiting  # chat 2 got the token
    assert not limiter.try_acquire(3)
    limiter.done(2)
    t.now += 1
    assert limiter.try_acquire(3)

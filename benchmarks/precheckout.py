"""Pre-checkout answers under load: the real bot (`serve`: polling, ticker, sender) against the Bot API stand-in
in its own process, which pays Stars invoices at a steady rate while the outbox drains a broadcast.

    python benchmarks/precheckout.py [--rate 200] [--seconds 30] [--broadcast 3000] [--database-url ...]

Every query is a real payer: the stand-in pushes a pre_checkout_query for an invoice link of a checkout the
bot made (the shipped course's paid next stage), waits for answerPreCheckoutQuery (Telegram's 10 s) and, on ok,
sends the successful_payment, which the bot records in the ledger and grants (an enrollment and its welcome
through the outbox). Prints p50/p99/max of the answer time, how many missed 10 s, and what else the bot did.
"""

import argparse
import asyncio
import logging
import multiprocessing
import socket
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

from aiogram.types import LabeledPrice
from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.broadcast import backend, reset
from bot.app import App, serve
from bot.db.migrations import upgrade
from bot.db.models import (
    Checkout,
    Enrollment,
    Event,
    OfferShown,
    OutboxMessage,
    OutboxStatus,
    Priority,
    Purchase,
    Student,
)
from bot.outbox.messages import Out
from bot.outbox.payloads import BroadcastPayload
from bot.outbox.queue import enqueue_many
from bot.revenue.invoices import invoice_payload
from bot.settings import Settings
from bot.standin import BotAPIStandIn
from journeys.clock import SystemClock
from journeys.events import EventType

TOKEN = "123456:BENCH-token"
FIRST = 2_000_000
OFFER = "growth-stage"  # the shipped online-store course's paid next stage
DEADLINE = 10.0  # seconds Telegram waits for the answer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def standin_process(conn: Connection, n: int) -> None:
    asyncio.run(_standin(conn, n))


async def _standin(conn: Connection, n: int) -> None:
    async with BotAPIStandIn(pre_checkout_timeout=DEADLINE) as standin:
        for i in range(n):
            standin.user(FIRST + i, "S")
        conn.send(standin.base_url)
        links, rate = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        started = time.monotonic()

        async def pay(i: int, link: str) -> tuple[float, bool]:
            await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            at = time.monotonic()
            charge = await standin.pay(FIRST + i, link)
            return time.monotonic() - at, charge is not None

        results = await asyncio.gather(*(pay(i, link) for i, link in enumerate(links)))
        load_seconds = time.monotonic() - started
        await asyncio.sleep(3)  # the last payments reach the bot
        broadcast = sum(
            1 for c in standin.calls if c.ok and c.method == "sendMessage" and c.params.get("text") == "News"
        )
        conn.send((results, load_seconds, broadcast))
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # the bot has stopped


async def fill(app: App, n: int, broadcast: int) -> list[int]:
    """n students who finished the course and were shown its next stage, one checkout each; and a broadcast."""
    now = app.clock.now()
    journey = app.catalog.default
    track = next(iter(journey.spec.tracks))
    async with app.uow() as uow:
        people = [
            {"telegram_id": FIRST + i, "first_name": "S", "timezone": "UTC", "created_at": now, "last_activity_at": now}
            for i in range(n)
        ]
        await uow.session.execute(insert(Student), people)
        ids = list(await uow.session.scalars(select(Student.id).order_by(Student.telegram_id)))
        enrollments = [
            {
                "student_id": sid,
                "journey_id": journey.id,
                "status": "completed",
                "answers": {},
                "track": track,
                "created_at": now,
                "completed_at": now,
            }
            for sid in ids
        ]
        await uow.session.execute(insert(Enrollment), enrollments)
        rows = (await uow.session.execute(select(Enrollment.id, Enrollment.student_id))).all()
        enrollment_of = {student: enrollment for enrollment, student in rows}
        shown = [
            {
                "type": EventType.OFFER_SHOWN.value,
                "student_id": sid,
                "enrollment_id": enrollment_of[sid],
                "data": {"offer": OFFER},
                "occurred_at": now,
            }
            for sid in ids
        ]
        await uow.session.execute(insert(Event), shown)
        # what the offers part records when it shows an offer: Buy and the pre-checkout verdict read it
        offered = [{"enrollment_id": enrollment_of[sid], "offer_id": OFFER, "shown_at": now} for sid in ids]
        await uow.session.execute(insert(OfferShown), offered)
        found = app.catalog.offer(OFFER)
        assert found is not None and found[1].price is not None and found[1].price.stars is not None
        price = found[1].price.stars
        checkouts = [
            {
                "student_id": sid,
                "enrollment_id": enrollment_of[sid],
                "offer_id": OFFER,
                "product_id": OFFER,
                "amount": price,
                "currency": "XTR",
                "subscription": False,
                "created_at": now,
            }
            for sid in ids
        ]
        await uow.session.execute(insert(Checkout), checkouts)
        news = BroadcastPayload(messages=(Out.text("News"),))
        recipients = [(f"bench-news:{i}", FIRST + i % n, ids[i % n]) for i in range(broadcast)]
        await enqueue_many(uow.session, recipients, payload=news, due_at=now, now=now, priority=Priority.BULK)
        await uow.commit()
        return list(await uow.session.scalars(select(Checkout.id).order_by(Checkout.student_id)))


async def links_for(app: App, checkouts: list[int], price: int) -> list[str]:
    async def link(checkout_id: int) -> str:
        prices = [LabeledPrice(label="Next stage", amount=price)]
        return await app.bot.create_invoice_link(
            "Next stage", "The next stage", invoice_payload(checkout_id), "XTR", prices
        )

    links: list[str] = []
    for start in range(0, len(checkouts), 100):
        links += await asyncio.gather(*(link(c) for c in checkouts[start : start + 100]))
    return links


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def run(url: str, rate: float, seconds: float, broadcast: int) -> None:
    await reset(url)
    n = int(rate * seconds)
    context = multiprocessing.get_context("spawn")
    conn, child_conn = context.Pipe()
    child = context.Process(target=standin_process, args=(child_conn, n))
    child.start()
    base_url = conn.recv()
    settings = Settings(
        bot_token=TOKEN,
        telegram_api_url=base_url,
        database_url=url,
        http_port=free_port(),
        scheduler_tick_seconds=2,
        _env_file=None,  # type: ignore[call-arg]
    )
    app = App(settings, clock=SystemClock())
    await upgrade(app.engine)
    checkouts = await fill(app, n, broadcast)
    found = app.catalog.offer(OFFER)
    assert found is not None and found[1].price is not None and found[1].price.stars is not None
    links = await links_for(app, checkouts, found[1].price.stars)
    stop = asyncio.Event()
    serving = asyncio.create_task(serve(app, handle_signals=False, stop=stop))
    await asyncio.sleep(2)  # polling has started
    conn.send((links, rate))
    results, load_seconds, broadcast_sent = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    await asyncio.sleep(2)
    async with app.uow() as uow:
        purchases = await uow.session.scalar(select(func.count()).select_from(Purchase))
        waiting = await uow.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)
        )
    stop.set()
    await serving
    await app.close()
    conn.send("done")
    child.join()
    times = [t for t, _ in results]
    paid = sum(1 for _, ok in results if ok)
    missed = sum(1 for t, _ in results if t >= DEADLINE)
    print(f"pre-checkout: {len(results)} queries at {rate:g}/s over {load_seconds:.1f} s, {backend(url)}")
    print(f"  answer time p50 {percentile(times, 50) * 1000:.0f} ms, p99 {percentile(times, 99) * 1000:.0f} ms,")
    print(f"  max {max(times) * 1000:.0f} ms; missed {DEADLINE:g} s: {missed}")
    print(f"  paid {paid}, purchases recorded {purchases}")
    print(f"  broadcast messages sent meanwhile {broadcast_sent} of {broadcast}; outbox rows still pending {waiting}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--rate", type=float, default=200.0, help="pre-checkout queries a second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--broadcast", type=int, default=3000, help="broadcast rows queued before the load")
    parser.add_argument("--database-url", help="default: a temporary SQLite file; the database is wiped")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    url = args.database_url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
    asyncio.run(run(url, args.rate, args.seconds, args.broadcast))


if __name__ == "__main__":
    main()

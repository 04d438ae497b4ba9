"""Broadcasts at Telegram's limit: the real App (ticker job, one sender, progress) against the Bot API stand-in.

    python benchmarks/broadcast.py send [--recipients 10000] [--rate 25] [--paid] [--database-url ...]
    python benchmarks/broadcast.py queue --recipients 100000 --database-url postgresql+asyncpg://...
    python benchmarks/broadcast.py all --database-url postgresql+asyncpg://...   (the three runs below)

`send` creates the students, confirms a broadcast to all of them and lets the App deliver it, then prints the
achieved rate against BROADCAST_RATE, duplicates, per-chat pacing violations (two messages to one chat within
a second) and peak RSS (the in-process stand-in keeps every call, so it grows with the run). `queue` only
builds the segment and writes the outbox rows, in a fresh process, to show that memory does not follow the
segment size.
"""

import argparse
import asyncio
import logging
import multiprocessing
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path

from sqlalchemy import func, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import App
from bot.broadcasts.drafts import Step, set_content
from bot.db.migrations import upgrade
from bot.db.models import Broadcast, BroadcastStatus, Enrollment, OutboxMessage, Student
from bot.settings import Settings
from bot.standin import BotAPIStandIn
from journeys.clock import SystemClock

TOKEN = "123456:BENCH-token"
FIRST = 1_000_000
CREATOR = 9001
GOALS = "goals: rate ratio >= 0.95, 0 duplicates, 0 violations"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def reset(url: str) -> None:
    if url.startswith("postgresql"):
        import asyncpg
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        connection = await asyncpg.connect(
            user=parsed.username, password=parsed.password, host=parsed.host, port=parsed.port, database=parsed.database
        )
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        await connection.close()


async def fill(app: App, n: int) -> None:
    """n active students, each with an enrollment; one statement per 5,000 on SQLite, one on PostgreSQL."""
    now = app.clock.now()
    async with app.uow() as uow:
        if app.settings.is_sqlite:
            for start in range(0, n, 5000):
                ids = range(FIRST + start, FIRST + min(start + 5000, n))
                await uow.session.execute(
                    insert(Student),
                    [
                        {
                            "telegram_id": i,
                            "first_name": "S",
                            "timezone": "UTC",
                            "created_at": now,
                            "last_activity_at": now,
                        }
                        for i in ids
                    ],
                )
            await uow.session.execute(
                text(
                    "INSERT INTO enrollments (student_id, journey_id, status, answers, track, created_at, nudge_rung,"
                    " holdout) SELECT id, :journey, 'active', '{}', 'novice', :now, 0, 0 FROM students"
                ),
                {"journey": app.journey.id, "now": now.isoformat(sep=" ")},
            )
        else:
            await uow.session.execute(
                text(
                    "INSERT INTO students (telegram_id, first_name, language, timezone, created_at, last_activity_at)"
                    " SELECT g, 'S', 'ru', 'UTC', CAST(:now AS timestamptz), CAST(:now AS timestamptz)"
                    " FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) g"
                ),
                {"now": now, "first": FIRST, "last": FIRST + n - 1},
            )
            await uow.session.execute(
                text(
                    "INSERT INTO enrollments (student_id, journey_id, status, answers, track, created_at, nudge_rung,"
                    " holdout) SELECT id, :journey, 'active', '{}', 'novice', :now, 0, false FROM students"
                ),
                {"journey": app.journey.id, "now": now},
            )
        await uow.commit()
        assert await uow.session.scalar(select(func.count()).select_from(Enrollment)) == n
    if not app.settings.is_sqlite:  # fresh statistics, as a live database has: the segment query plans by them
        async with app.engine.connect() as connection:
            await connection.execute(text("ANALYZE students"))
            await connection.execute(text("ANALYZE enrollments"))
            await connection.commit()


async def confirm(app: App, source_message_id: int, segment: dict[str, object]) -> int:
    async with app.uow() as uow:
        draft = await app.broadcasts.new_draft(uow, CREATOR, CREATOR, "en")
        draft.segment = segment
        set_content(draft, step=Step.PREVIEW.value, kind="copy", message_id=source_message_id, buttons=[])
        await app.broadcasts.delivery.confirm(uow, draft, CREATOR)
        await uow.commit()
        return draft.id


def settings_for(url: str, api: str, rate: float, paid: bool) -> Settings:
    return Settings(
        bot_token=TOKEN,
        telegram_api_url=api,
        database_url=url,
        send_rate=min(rate, 25.0),
        broadcast_rate=rate,
        allow_paid_broadcast=paid,
        scheduler_tick_seconds=2,
        _env_file=None,  # type: ignore[call-arg]
    )


def standin_process(conn: Connection, n: int) -> None:
    """The Bot API stand-in in its own process, as Telegram would be: the bot's CPU and memory stay its own."""
    asyncio.run(_serve_standin(conn, n))


async def _serve_standin(conn: Connection, n: int) -> None:
    async with BotAPIStandIn() as standin:
        creator = standin.user(CREATOR, "Care")
        for i in range(FIRST, FIRST + n):
            standin.user(i, "S")
        source = standin.push_message(creator, CREATOR, "Hello all: the <b>new module</b> is open")
        conn.send((standin.base_url, source["message_id"]))
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # the bot is done
        copies = [
            (c.chat_id, c.at, c.params.get("allow_paid_broadcast") is True)
            for c in standin.calls
            if c.ok and c.method == "copyMessage" and c.chat_id != CREATOR
        ]
        edits = len([c for c in standin.calls_to("editMessageText") if c.chat_id == CREATOR])
        refused = len([c for c in standin.calls if c.status == 429])
        conn.send((copies, edits, refused, creator.messages[-1].text or ""))


async def send(url: str, n: int, rate: float, paid: bool) -> None:
    await reset(url)
    conn, child_conn = multiprocessing.get_context("spawn").Pipe()
    child = multiprocessing.get_context("spawn").Process(target=standin_process, args=(child_conn, n))
    child.start()
    base_url, source_id = conn.recv()
    app = App(settings_for(url, base_url, rate, paid), clock=SystemClock())
    await upgrade(app.engine)
    await fill(app, n)
    broadcast_id = await confirm(app, source_id, {})
    stop = asyncio.Event()
    started = time.monotonic()
    sender = asyncio.create_task(app.sender.run(stop))
    progress = asyncio.create_task(app.broadcasts.progress.run(stop))
    app.ticker.start()
    while True:
        await asyncio.sleep(0.5)
        async with app.uow() as uow:
            broadcast = await uow.session.get(Broadcast, broadcast_id)
            assert broadcast is not None
            if broadcast.status is BroadcastStatus.DONE:
                break
    elapsed = time.monotonic() - started
    await app.broadcasts.progress.pulse()
    await app.ticker.stop()
    stop.set()
    await asyncio.gather(sender, progress)
    await app.close()
    conn.send("report")
    copies, edits, refused, report = conn.recv()
    child.join()
    per_chat = Counter(chat for chat, _, _ in copies)
    duplicates = sum(count - 1 for count in per_chat.values() if count > 1)
    violations = 0
    last: dict[int, float] = {}
    for chat, at, _ in sorted(copies, key=lambda c: c[1]):
        if chat in last and at - last[chat] < 1.0:
            violations += 1
        last[chat] = at
    times = sorted(at for _, at, _ in copies)
    achieved = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    paid_flags = sum(1 for _, _, flag in copies if flag)
    print(f"send: {n} recipients at BROADCAST_RATE={rate:g}/s, paid={paid}, {backend(url)}")
    print(f"  delivered {len(per_chat)}/{n}, {elapsed:.1f} s from confirm to done, 429s {refused}")
    print(f"  achieved {achieved:.2f}/s, ratio {achieved / rate:.3f}; most in any 1 s window: {max_in_window(times)}")
    print(f"  duplicates {duplicates}, per-chat violations {violations}, allow_paid_broadcast on {paid_flags}")
    print(f"  progress edits {edits}; report: {report.splitlines()[1] if chr(10) in report else report}")
    print(f"  peak RSS of the bot {peak_rss_mb():.0f} MB (the stand-in runs in its own process)")
    ok = achieved / rate >= 0.95 and duplicates == 0 and violations == 0 and len(per_chat) == n
    print(f"  {GOALS}: {'MET' if ok else 'NOT MET'}")


def max_in_window(times: list[float]) -> int:
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


async def queue(url: str, n: int) -> None:
    await reset(url)
    app = App(settings_for(url, "http://127.0.0.1:9", 25, False), clock=SystemClock())
    await upgrade(app.engine)
    started = time.monotonic()
    await fill(app, n)
    filled = time.monotonic() - started
    rss_before = peak_rss_mb()
    broadcast_id = await confirm(app, 1, {"statuses": ["active"]})
    started = time.monotonic()
    async with app.uow() as uow:
        await app.broadcasts.delivery.queue(uow, broadcast_id, deadline=float("inf"))
    queued_in = time.monotonic() - started
    async with app.uow() as uow:
        rows = await uow.session.scalar(select(func.count()).select_from(OutboxMessage))
        broadcast = await uow.session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        status, total = broadcast.status, broadcast.total
    await app.close()
    print(f"queue: {n} recipients, segment status=active, {backend(url)}")
    print(f"  students inserted in {filled:.1f} s; segment read and {rows} outbox rows written in {queued_in:.1f} s")
    print(f"  ({rows / queued_in:.0f} rows/s), broadcast {status.value}, total {total}")
    print(f"  peak RSS {rss_before:.0f} MB before queueing, {peak_rss_mb():.0f} MB after")


def backend(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("mode", choices=["send", "queue", "all"])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=25.0, help="BROADCAST_RATE, messages/s")
    parser.add_argument("--paid", action="store_true", help="ALLOW_PAID_BROADCAST (rates up to 1000/s)")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    url = args.database_url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
    if args.mode == "send":
        asyncio.run(send(url, args.recipients, args.rate, args.paid))
    elif args.mode == "queue":
        asyncio.run(queue(url, args.recipients))
    else:  # each run in its own process, so each peak RSS is its own
        me = [sys.executable, __file__]
        pg = ["--database-url", url]
        subprocess.run([*me, "send", "--recipients", "10000", "--rate", "25", *pg], check=True)
        subprocess.run([*me, "send", "--recipients", "5000", "--rate", "1000", "--paid", *pg], check=True)
        subprocess.run([*me, "queue", "--recipients", "10000", *pg], check=True)
        subprocess.run([*me, "queue", "--recipients", "100000", *pg], check=True)


if __name__ == "__main__":
    main()

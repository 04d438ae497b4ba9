"""Drains a big outbox into the Bot API stand-in and checks pace, duplicates and per-chat limits.

    python benchmarks/sender.py [--messages 10000] [--rate 25] [--chats 2000] [--groups 0]
                                [--database-url postgresql+asyncpg://...] [--standin-limits]

Each chat gets its messages back to back (5 each by default), so the per-chat pacing matters.
"""

import argparse
import asyncio
import logging
import resource
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import itertools

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.db.engine import create_engine, create_session_factory
from bot.db.migrations import upgrade
from bot.db.models import OutboxMessage, OutboxStatus, Priority
from bot.db.uow import UnitOfWorkFactory
from bot.outbox.messages import Out
from bot.outbox.payloads import BroadcastPayload
from bot.outbox.queue import enqueue
from bot.outbox.sender import OutboxSender
from bot.standin import BotAPIStandIn
from journeys.clock import SystemClock

TOKEN = "123456:BENCH-token"
FIRST_USER = 100_000
FIRST_GROUP = -1_000_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=25.0, help="SEND_RATE, messages/s")
    parser.add_argument("--chats", type=int, default=2_000, help="distinct private chats")
    parser.add_argument("--groups", type=int, default=0, help="group chats among the targets")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument(
        "--standin-limits", action="store_true", help="let the stand-in answer 429 above 1/s per chat, 30/s"
    )
    return parser.parse_args()


def targets(args: argparse.Namespace) -> list[int]:
    """The chat of every message, each chat's messages back to back."""
    chats = [FIRST_USER + n for n in range(args.chats)] + [FIRST_GROUP - n for n in range(args.groups)]
    per_chat, extra = divmod(args.messages, len(chats))
    order: list[int] = []
    for i, chat in enumerate(chats):
        order += [chat] * (per_chat + (i < extra))
    return order


async def fill(uow: UnitOfWorkFactory, chats: list[int]) -> None:
    now = datetime.now(UTC)
    async with uow() as u:
        await u.session.execute(delete(OutboxMessage))
        await u.commit()
    for start in range(0, len(chats), 500):
        async with uow() as u:
            for n in range(start, min(start + 500, len(chats))):
                await enqueue(
                    u.session,
                    key=f"bench:{n}",
                    payload=BroadcastPayload(messages=[Out.text(f"bench:{n}")]),
                    chat_id=chats[n],
                    due_at=now,
                    now=now,
                    priority=Priority.BULK,
                )
            await u.commit()


def violations(standin: BotAPIStandIn) -> tuple[int, int]:
    by_chat: dict[int, list[float]] = defaultdict(list)
    for call in standin.calls_to("sendMessage"):
        if call.ok:
            by_chat[int(call.params["chat_id"])].append(call.at)
    private = group = 0
    for chat, times in by_chat.items():
        times.sort()
        if chat > 0:
            private += sum(1 for a, b in itertools.pairwise(times) if b - a < 0.9)
        else:
            group += sum(1 for i in range(20, len(times)) if times[i] - times[i - 20] < 60)
    return private, group


async def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        engine = create_engine(url)
        await upgrade(engine)
        uow = UnitOfWorkFactory(create_session_factory(engine))
        async with BotAPIStandIn() as standin:
            for n in range(args.chats):
                standin.user(FIRST_USER + n, f"User {n}")
            for n in range(args.groups):
                standin.group(FIRST_GROUP - n, f"Group {n}")
            if args.standin_limits:
                standin.rate_limit(per_chat_per_second=1, global_per_second=30)
            chats = targets(args)
            await fill(uow, chats)
            bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(standin.base_url)))
            sender = OutboxSender(uow, bot, SystemClock(), rate=args.rate)
            stop = asyncio.Event()
            started = time.monotonic()
            running = asyncio.create_task(sender.run(stop))
            total = len(chats)
            while sender.stats.sent + sender.stats.failed + sender.stats.blocked < total:
                await asyncio.sleep(0.5)
                if running.done():
                    running.result()
            elapsed = time.monotonic() - started
            stop.set()
            await running
            await bot.session.close()
            async with uow() as u:
                counted = await u.session.execute(
                    select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                )
                statuses = dict(counted.all())
        await engine.dispose()

    sends = standin.calls_to("sendMessage")
    ok = sorted(c.at for c in sends if c.ok)
    achieved = (len(ok) - 1) / (ok[-1] - ok[0]) if len(ok) > 1 else 0.0
    counts = Counter(c.params["text"] for c in sends if c.ok)
    duplicates = sum(n - 1 for n in counts.values())
    private, group = violations(standin)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    backend = url.split(":", 1)[0]
    print(f"{total} messages to {args.chats} private chats + {args.groups} groups, {backend}, rate {args.rate}/s")
    print(f"  achieved rate / configured  {achieved / args.rate:8.3f}   (goal >= 0.95; {achieved:.2f} msg/s)")
    print(f"  duplicates                  {duplicates:8d}   (goal 0)")
    print(f"  per-chat limit violations   {private + group:8d}   (goal 0; private {private}, group {group})")
    print(f"  rows sent                   {statuses.get(OutboxStatus.SENT, 0):8d}   of {total}")
    print(f"  429 answers                 {sum(1 for c in sends if c.status == 429):8d}")
    print(f"  elapsed                     {elapsed:8.1f} s")
    print(f"  peak RSS                    {rss_mb:8.1f} MB   (stand-in included)")


if __name__ == "__main__":
    asyncio.run(main())

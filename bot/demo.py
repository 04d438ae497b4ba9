"""`journeybot demo`: the real bot, offline, against the Telegram stand-in, with a fast clock.

Simulated students talk to it through HTTP exactly as Telegram clients would; the terminal shows
the conversation and a summary read back from the database.
"""

import asyncio
import logging
import socket
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import TextIO

from aiohttp import web
from sqlalchemy import func, select

from bot.app import App
from bot.db.migrations import upgrade
from bot.db.models import Enrollment, Event, Purchase, StepCompletion, Student
from bot.demo_revenue import SchoolCheckout, club_and_next_stage, club_lapses, mentor_through_the_school
from bot.demo_tools import TALK_SPEED, WAIT, WAIT_SPEED, Transcript, fast_forward, got, in_chat, slow_down
from bot.outbox.limiter import Limiter
from bot.revenue.money import format_amount
from bot.settings import Settings
from bot.standin import BotAPIStandIn, FakeUser, StoredMessage
from journeys.clock import ScaledClock

CURATOR_CHAT = -1001000
CURATOR = 900
CLUB_CHAT = -1002000
SCHOOL_SECRET = "demo-school-secret"


async def run_demo(speed: float | None = None, journey_file: str | None = None, out: TextIO = sys.stdout) -> int:
    # ticks come every 50 ms here; one still running when the next is due is skipped, as designed
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    started = time.monotonic()
    clock = ScaledClock(TALK_SPEED)
    with tempfile.TemporaryDirectory(prefix="journeybot-demo-") as tmp:
        # Telegram dates (a subscription's expiration, invite links) follow the journey clock too
        async with BotAPIStandIn(now=lambda: clock.now().timestamp()) as standin:
            settings = Settings(
                _env_file=None,
                bot_token="100000:demo-token",
                telegram_api_url=standin.base_url,
                database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}",
                journey_file=Path(journey_file) if journey_file else None,  # None: the shipped catalog
                clock_speed=clock.speed,
                curator_chat_id=CURATOR_CHAT,
                club_chat_id=CLUB_CHAT,
                api_secret=SCHOOL_SECRET,  # the school's checkout signs its payment reports with it
                scheduler_tick_seconds=0.05,  # at a day a second, a tick is about 70 journey minutes
            )
            app = App(settings, clock=clock)
            transcript = Transcript(clock, out, settings.tz)
            await upgrade(app.engine)
            standin.on_event(transcript.line)
            standin.group(CURATOR_CHAT, "Кураторы школы", is_forum=True, members=[CURATOR])
            standin.group(CLUB_CHAT, "Клуб выпускников", members={CURATOR: "creator"})
            http = web.AppRunner(app.web_app())  # the bot's HTTP server: the school's checkout reports to it
            await http.setup()
            listening = socket.create_server(("127.0.0.1", 0))
            await web.SockSite(http, listening).start()
            school = SchoolCheckout(f"http://127.0.0.1:{listening.getsockname()[1]}", SCHOOL_SECRET)
            stop = asyncio.Event()
            app.sender.tick = 0.05  # rows due later wake the sender by its tick: keep it close to the ticker's
            # Telegram's per-chat limits are real seconds; at a journey day a second they would hold a
            # reminder back for days. The stand-in is not Telegram, so the demo paces chats in milliseconds.
            app.sender.limiter = Limiter(settings.send_rate, private_interval=0.01, group_interval=0.02)
            sender = asyncio.create_task(app.sender.run(stop))
            app.ticker.start()
            polling = asyncio.create_task(
                app.dispatcher.start_polling(
                    app.bot,
                    handle_signals=False,
                    handle_as_tasks=False,
                    polling_timeout=1,
                    close_bot_session=False,
                )
            )
            try:
                print(
                    f"journeybot demo — «{app.journey.title}»: journey time runs ×{TALK_SPEED:g} while people act "
                    f"and ×{speed or WAIT_SPEED:g} through quiet days (⏩)\n",
                    file=out,
                )
                await _play(app, standin, transcript, school, fast=speed or WAIT_SPEED)
                await _summary(app, out, time.monotonic() - started)
            finally:
                await app.ticker.stop()
                stop.set()
                await sender
                await app.dispatcher.stop_polling()
                await polling
                await http.cleanup()
                await app.close()
    return 0


async def _play(
    app: App, standin: BotAPIStandIn, transcript: Transcript, school: SchoolCheckout, *, fast: float
) -> None:
    anna = standin.user(501, "Анна", username="anna_shop", language_code="ru")
    boris = standin.user(502, "Борис", username="boris_wb", language_code="ru")
    olga = standin.user(CURATOR, "Ольга", username="olga_curator", language_code="ru")
    journey = app.journey

    transcript.narrate("Анна has never sold online; she opens the bot")
    await anna.send("/start")
    await anna.send("У меня есть опыт")  # typing where a button is expected
    await _answer(
        anna,
        journey,
        {
            "experience": "none",
            "level": "beginner",
            "goal": "first_shop",
            "format": "first",
            "study_days": "weekdays",
            "study_time": "evening",
            "timezone": "moscow",
        },
    )
    if anna.last and "Вопрос" in (anna.last.text or ""):
        await anna.send("Хочу продавать свечи ручной работы")

    transcript.narrate("Борис already sells on a marketplace")
    await boris.send("/start")
    await _answer(
        boris,
        journey,
        {
            "experience": "marketplace",
            "level": "confident",
            "goal": "grow_sales",
            "format": "familiar",
            "study_days": "daily",
            "study_time": "morning",
            "timezone": "moscow",
        },
    )
    if boris.last and boris.last.button("Пропустить"):
        await boris.click("Пропустить")

    start = await _cohort_start(app)
    transcript.narrate(
        f"⏩ to the group start ({start.astimezone(transcript.tz):%d.%m %H:%M}): the scheduler sends the first steps"
    )
    # a start up to five weeks away (it depends on today's date) takes that many real seconds at a day a second
    until_start = max(0.0, (start - app.clock.now()).total_seconds() / fast)
    fast_forward(app, fast)
    await anna.expect("Шаг 1 из 9", timeout=WAIT + until_start)
    await boris.expect("Шаг 1 из 7", timeout=WAIT)
    slow_down(app)

    transcript.narrate("Анна works through every step; her double tap on Done counts once; rewards mark milestones")
    await _double_tap(standin, anna, "✅ Готово")
    # a step whose Done was pressed loses the button; a reward (sent by the outbox) may land after the next step
    while any(m.button("✅ Готово") for m in anna.messages):
        await anna.click("✅ Готово")
    await standin.wait_for(lambda: got(anna, "Бонус выпускника"), WAIT, what="Анна's last reward")

    transcript.narrate("Борис finishes two steps, then goes quiet. ⏩ Reminders come at the hour he chose")
    for _ in range(2):
        await boris.click("✅ Готово")
    fast_forward(app, fast)
    await standin.wait_for(lambda: got(boris, "Кажется, шаг застрял"), WAIT, what="Борис's second reminder")

    transcript.narrate("no reaction: the curators get an alert in Борис's own topic")
    alert = await _wait_for_alert(standin)
    slow_down(app)
    await olga.click(alert, "Взять")
    await olga.send(
        "Борис, привет! Вижу, CRM пока не идёт. Давайте созвонимся на 10 минут?",
        chat_id=CURATOR_CHAT,
        message_thread_id=alert.message_thread_id,
    )
    await standin.wait_for(lambda: got(boris, "созвонимся"), WAIT, what="the curator's message to reach Борис")
    await standin.wait_for(
        lambda: in_chat(standin, CURATOR_CHAT, "Доставлено"), WAIT, what="the delivery note for the curators"
    )

    transcript.narrate("Борис is back on track: his progress resolves the alert")
    await boris.click("✅ Готово")
    await standin.wait_for(lambda: "Решено" in (alert.text or ""), WAIT, what="the alert to resolve")

    await club_and_next_stage(app, standin, transcript, anna, fast=fast)
    await mentor_through_the_school(app, standin, transcript, boris, school, fast=fast)
    await club_lapses(app, standin, transcript, anna, fast=fast)


async def _wait_for_alert(standin: BotAPIStandIn) -> StoredMessage:
    def alert() -> StoredMessage | None:
        return next((m for m in standin.messages_in(CURATOR_CHAT) if m.button("🙋 Взять")), None)

    await standin.wait_for(lambda: alert() is not None, WAIT, what="a curator alert")
    found = alert()
    assert found is not None
    return found


async def _double_tap(standin: BotAPIStandIn, student: FakeUser, button: str) -> None:
    """Two presses that reach the bot before the first answer comes back, as on a slow network."""
    message = student.last
    assert message is not None
    data = (message.button(button) or {})["callback_data"]
    for _ in range(2):
        standin.push_callback(student, message.message_id, student.id, data, button_text=button)
    await standin.settle()


async def _answer(student: FakeUser, journey, choices: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    for question_id, option_id in choices.items():
        question = journey.question(question_id)
        option = question.option(option_id) if question else None
        if option is not None:
            await student.click(option.text)


async def _cohort_start(app: App):  # type: ignore[no-untyped-def]
    async with app.uow() as uow:
        return await uow.session.scalar(select(func.max(Enrollment.cohort_start)))


async def _summary(app: App, out: TextIO, elapsed: float) -> None:
    async with app.uow() as uow:
        rows = (
            await uow.session.execute(
                select(Student.first_name, Enrollment.journey_id, Enrollment.track, Enrollment.status, Enrollment.id)
                .join(Enrollment)
                .order_by(Enrollment.id)
            )
        ).all()
        done = Counter(
            dict(
                (
                    await uow.session.execute(
                        select(StepCompletion.enrollment_id, func.count()).group_by(StepCompletion.enrollment_id)
                    )
                ).all()
            )
        )
        events = Counter(dict((await uow.session.execute(select(Event.type, func.count()).group_by(Event.type))).all()))
        ledger = (
            await uow.session.execute(
                select(Student.first_name, Purchase.product_id, Purchase.amount, Purchase.currency, Purchase.source)
                .join(Student, Student.id == Purchase.student_id)
                .where(Purchase.refunded_at.is_(None))
                .order_by(Purchase.id)
            )
        ).all()
    print("\n── summary", file=out)
    for name, journey_id, track, status, enrollment_id in rows:
        journey = app.catalog.get(journey_id)
        total = len(journey.track(track).steps) if journey and track and journey.has_track(track) else 0
        print(f"   {name}: {journey_id}, track {track}, {status.value}, {done[enrollment_id]}/{total} steps", file=out)
    print("   events: " + ", ".join(f"{kind} {n}" for kind, n in sorted(events.items())), file=out)
    print("   ledger:" + ("" if ledger else " no payments"), file=out)
    paid: Counter[str] = Counter()
    for name, product, amount, currency, source in ledger:
        print(f"     {name}: {product}, {format_amount(amount, currency)} ({source.value})", file=out)
        paid[currency] += amount
    if paid:
        print("   paid in all: " + ", ".join(format_amount(n, c) for c, n in sorted(paid.items())), file=out)
    print(f"   finished in {elapsed:.1f} s of real time", file=out)

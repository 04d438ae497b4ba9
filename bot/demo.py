"""`journeybot demo`: the real bot, offline, against the Telegram stand-in, with a fast clock.

Simulated students talk to it through HTTP exactly as Telegram clients would; the terminal shows
the conversation and a summary read back from the database.
"""

import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import TextIO

from sqlalchemy import func, select

from bot.app import App
from bot.db.migrations import upgrade
from bot.db.models import Enrollment, Event, StepCompletion, Student
from bot.settings import DEFAULT_JOURNEY, Settings
from bot.standin import BotAPIStandIn, FakeUser
from journeys.clock import ScaledClock

# three journey days pass every real second: a month-away cohort start arrives in about ten seconds
DEMO_SPEED = 3 * 86400
MAX_LINES = 6


class Transcript:
    def __init__(self, clock: ScaledClock, out: TextIO) -> None:
        self.clock = clock
        self.out = out

    def line(self, text: str) -> None:
        lines = [line for line in text.splitlines() if line.strip()]
        limit = 2 if " ✎ " in lines[0] else MAX_LINES  # an edit repeats a message already shown
        if len(lines) > limit:
            lines = [*lines[: limit - 1], "      …", lines[-1]]
        stamp = self.clock.now().strftime("%d.%m %H:%M")
        print(f"{stamp}  " + "\n              ".join(lines), file=self.out, flush=True)

    def narrate(self, text: str) -> None:
        print(f"\n── {text}", file=self.out, flush=True)


async def run_demo(speed: float | None = None, journey_file: str | None = None, out: TextIO = sys.stdout) -> int:
    started = time.monotonic()
    clock = ScaledClock(speed or DEMO_SPEED)
    transcript = Transcript(clock, out)
    with tempfile.TemporaryDirectory(prefix="journeybot-demo-") as tmp:
        async with BotAPIStandIn() as standin:
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                bot_token="100000:demo-token",
                telegram_api_url=standin.base_url,
                database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}",
                journey_file=Path(journey_file) if journey_file else DEFAULT_JOURNEY,
                clock_speed=clock.speed,
            )
            app = App(settings, clock=clock)
            await upgrade(app.engine)
            standin.on_event(transcript.line)
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
                print(f"journeybot demo — «{app.journey.title}», clock ×{clock.speed:g}\n", file=out)
                await _play(app, standin, transcript)
                await _summary(app, out, time.monotonic() - started)
            finally:
                await app.dispatcher.stop_polling()
                await polling
                await app.close()
    return 0


async def _play(app: App, standin: BotAPIStandIn, transcript: Transcript) -> None:
    anna = standin.user(501, "Анна", username="anna_shop", language_code="ru")
    boris = standin.user(502, "Борис", username="boris_wb", language_code="ru")
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
        },
    )
    if boris.last and boris.last.button("Пропустить"):
        await boris.click("Пропустить")

    start = await _cohort_start(app)
    if start and start > app.clock.now():
        transcript.narrate(f"the group starts {start:%d.%m %H:%M} UTC; the fast clock gets us there")
        await asyncio.sleep((start - app.clock.now()).total_seconds() / app.clock.speed + 0.05)

    transcript.narrate("the group has started: the students come back")
    await anna.send("/progress")
    await boris.send("/progress")

    transcript.narrate("Анна works through every step; her double tap on Done counts once")
    await _double_tap(standin, anna, "✅ Готово")
    while anna.last and anna.last.button("✅ Готово"):
        await anna.click("✅ Готово")

    transcript.narrate("Борис finishes two steps, asks something, and stops for now")
    for _ in range(2):
        await boris.click("✅ Готово")
    await boris.send("А где найти шаблон таблицы?")


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
                select(Student.first_name, Enrollment.track, Enrollment.status, Enrollment.id).join(Enrollment)
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
    print("\n── summary", file=out)
    for name, track, status, enrollment_id in rows:
        total = len(app.journey.track(track).steps) if track else 0
        print(f"   {name}: track {track}, {status.value}, {done[enrollment_id]}/{total} steps", file=out)
    print("   events: " + ", ".join(f"{kind} {n}" for kind, n in sorted(events.items())), file=out)
    print(f"   finished in {elapsed:.1f} s of real time", file=out)

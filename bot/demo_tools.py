"""What the demo's acts share: its clock speeds, the transcript, and a few ways to wait for the bot."""

from typing import TextIO
from zoneinfo import ZoneInfo

from bot.app import App
from bot.standin import BotAPIStandIn, FakeUser, StoredMessage
from journeys.clock import ScaledClock

# People act at ten journey minutes a real second; quiet days fly by at a day a second.
TALK_SPEED = 600
WAIT_SPEED = 86400
MAX_LINES = 6
WAIT = 30.0  # real seconds to wait for anything the scheduler or the sender does


class Transcript:
    def __init__(self, clock: ScaledClock, out: TextIO, tz: ZoneInfo) -> None:
        self.clock, self.out, self.tz = clock, out, tz  # times are shown in the school's time zone

    def line(self, text: str) -> None:
        lines = [line for line in text.splitlines() if line.strip()]
        limit = 2 if " ✎ " in lines[0] else MAX_LINES  # an edit repeats a message already shown
        if len(lines) > limit:
            lines = [*lines[: limit - 1], "      …", lines[-1]]
        stamp = self.clock.now().astimezone(self.tz).strftime("%d.%m %H:%M")
        print(f"{stamp}  " + "\n              ".join(lines), file=self.out, flush=True)

    def narrate(self, text: str) -> None:
        print(f"\n── {text}", file=self.out, flush=True)


def fast_forward(app: App, speed: float) -> None:
    assert isinstance(app.clock, ScaledClock)
    app.clock.set_speed(speed)


def slow_down(app: App) -> None:
    assert isinstance(app.clock, ScaledClock)
    app.clock.set_speed(TALK_SPEED)


def in_chat(standin: BotAPIStandIn, chat_id: int, text: str) -> bool:
    return any(text in (m.text or "") for m in standin.messages_in(chat_id))


def got(student: FakeUser, text: str) -> bool:
    return any(text in (m.text or "") for m in student.messages)


def with_button(person: FakeUser, text: str) -> StoredMessage | None:
    """The person's latest message from the bot with this button."""
    return next((m for m in reversed(person.messages) if m.button(text)), None)


async def wait_for_button(standin: BotAPIStandIn, person: FakeUser, text: str, *, what: str) -> StoredMessage:
    await standin.wait_for(lambda: with_button(person, text) is not None, WAIT, what=what)
    found = with_button(person, text)
    assert found is not None
    return found

"""A club for the invite and membership tests (a private supergroup with an owner), and Telegram's clock."""

import time

from bot.standin import BotAPIStandIn
from bot.standin.records import FakeChat

CLUB = -1001234
OWNER = 900


class TelegramClock:
    """Telegram's time for the stand-in (Unix seconds); a test moves it instead of waiting."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def club(standin: BotAPIStandIn, **options: object) -> FakeChat:
    standin.user(OWNER, "Olga")
    return standin.group(CLUB, "Graduate club", members={OWNER: "creator"}, **options)  # type: ignore[arg-type]

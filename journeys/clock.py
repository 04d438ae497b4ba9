"""The one clock every time decision reads.

Tests move a ManualClock; demos and acceptance runs use a ScaledClock so that journey time
(idle days, cohort starts) passes CLOCK_SPEED times faster than real time.
"""

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    @property
    def speed(self) -> float: ...


class SystemClock:
    speed = 1.0

    def now(self) -> datetime:
        return datetime.now(UTC)


class ScaledClock:
    """Journey time starts at `start` (default: now) and runs `speed` times faster than real time."""

    def __init__(self, speed: float, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("clock speed must be positive")
        self.speed = float(speed)
        self._start = start or datetime.now(UTC)
        self._real_start = time.monotonic()

    def now(self) -> datetime:
        elapsed = time.monotonic() - self._real_start
        return self._start + timedelta(seconds=elapsed * self.speed)

    def set_speed(self, speed: float) -> None:
        """Changes the pace from now on, without a jump: the demo fast-forwards through quiet days."""
        if speed <= 0:
            raise ValueError("clock speed must be positive")
        self._start, self._real_start = self.now(), time.monotonic()
        self.speed = float(speed)


class ManualClock:
    speed = 1.0

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment


def make_clock(speed: float) -> Clock:
    return SystemClock() if speed == 1 else ScaledClock(speed)

"""When a student counts as stalled, and why."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from journeys.spec import Stall

DAY = timedelta(days=1)


@dataclass(frozen=True)
class PaceState:
    started_at: datetime
    last_progress_at: datetime | None
    done: int
    total: int

    @property
    def idle_since(self) -> datetime:
        return self.last_progress_at or self.started_at


@dataclass(frozen=True)
class StallReasons:
    """Why a student counts as stalled at a moment: shown on the curators' alert card and stored with it."""

    idle_days: float  # since the last progress (or the start), to a tenth of a day
    behind_steps: int  # steps fewer than the journey's pace expects by now
    ladder_exhausted: bool  # every reminder of the nudge ladder went without a reaction

    def to_json(self) -> dict[str, Any]:
        # these keys are stored on alerts and in the "stalled" events: renaming one breaks old rows
        return {
            "idle_days": self.idle_days,
            "behind_steps": self.behind_steps,
            "ladder_exhausted": self.ladder_exhausted,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "StallReasons":
        return cls(
            idle_days=float(data["idle_days"]),
            behind_steps=int(data["behind_steps"]),
            ladder_exhausted=bool(data["ladder_exhausted"]),
        )


@dataclass(frozen=True)
class Stalled:
    """The student is stalled: the curators hear of it, with the reasons."""

    reasons: StallReasons


def stall_deadline(state: PaceState, pace: timedelta, stall: Stall) -> datetime | None:
    """The moment the student becomes stalled if nothing changes; None once the course is done."""
    if state.done >= state.total:
        return None
    deadline = state.idle_since + stall.idle
    if state.done + stall.behind <= state.total:
        # expected steps done by T are floor((T - start) / pace): behind by `behind` at this moment
        deadline = min(deadline, state.started_at + pace * (state.done + stall.behind))
    return deadline


def stall_reasons(state: PaceState, pace: timedelta, now: datetime, *, ladder_exhausted: bool) -> StallReasons:
    # whole pace periods since the start, counted exactly: a float quotient can round up to the next step
    expected = min(state.total, max(0, (now - state.started_at) // pace)) if pace else state.total
    return StallReasons(
        idle_days=round((now - state.idle_since) / DAY, 1),
        behind_steps=max(0, expected - state.done),
        ladder_exhausted=ladder_exhausted,
    )


def check_stall(
    stall_at: datetime | None, state: PaceState, pace: timedelta, now: datetime, *, ladder_exhausted: bool
) -> Stalled | None:
    """Stalled once the stored deadline (pace, idleness or the ladder's grace) has come; None before it."""
    if stall_at is None or now < stall_at:
        return None
    return Stalled(stall_reasons(state, pace, now, ladder_exhausted=ladder_exhausted))

"""When a student counts as stalled, and why."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from journeys.spec import Stall

LADDER_GRACE = timedelta(days=1)  # after the last nudge, a day to react before the curators hear


@dataclass(frozen=True)
class PaceState:
    started_at: datetime
    last_progress_at: datetime | None
    done: int
    total: int

    @property
    def idle_since(self) -> datetime:
        return self.last_progress_at or self.started_at


def stall_deadline(state: PaceState, pace: timedelta, stall: Stall) -> datetime | None:
    """The moment the student becomes stalled if nothing changes; None once the course is done."""
    if state.done >= state.total:
        return None
    deadline = state.idle_since + stall.idle
    if state.done + stall.behind <= state.total:
        # expected steps done by T are floor((T - start) / pace): behind by `behind` at this moment
        deadline = min(deadline, state.started_at + pace * (state.done + stall.behind))
    return deadline


def stall_reasons(state: PaceState, pace: timedelta, now: datetime, *, ladder_exhausted: bool) -> dict[str, object]:
    expected = min(state.total, int((now - state.started_at) / pace)) if pace else state.total
    return {
        "idle_days": round((now - state.idle_since) / timedelta(days=1), 1),
        "behind_steps": max(0, expected - state.done),
        "ladder_exhausted": ladder_exhausted,
    }

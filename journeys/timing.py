"""When a proactive message may go out: quiet hours and the student's own study plan."""

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class QuietHours:
    start: time  # e.g. 22:00
    end: time  # e.g. 09:00 (the next morning when end < start)

    @classmethod
    def parse(cls, value: str | None) -> "QuietHours | None":
        if not value:
            return None
        start, end = (time.fromisoformat(part) for part in value.split("-"))
        return cls(start, end)

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


def outside_quiet_hours(moment: datetime, tz: ZoneInfo, quiet: QuietHours | None) -> datetime:
    """The moment itself, or the end of the quiet hours it falls into."""
    if quiet is None:
        return moment
    local = moment.astimezone(tz)
    if not quiet.contains(local.time().replace(tzinfo=None)):
        return moment
    morning = _on_the_clock(local.date(), quiet.end, tz, after=moment, strictly=True)
    return morning or datetime.combine(local.date() + timedelta(days=1), quiet.end, tzinfo=tz)


def next_study_slot(moment: datetime, tz: ZoneInfo, days: Collection[int], at: time) -> datetime:
    """The first time at or after `moment` that falls on one of the student's study days at their hour."""
    local = moment.astimezone(tz)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        slot = _on_the_clock(day, at, tz, after=moment, strictly=False) if day.isoweekday() in days else None
        if slot is not None:
            return slot
    raise ValueError("a study plan needs at least one weekday")


def _on_the_clock(day: date, at: time, tz: ZoneInfo, *, after: datetime, strictly: bool) -> datetime | None:
    """`at` on `day` on the zone's clock if that is (strictly) after `after`, else None.

    Compared as instants: the same zone's datetimes compare by their wall clocks, and in the hour repeated
    when clocks go back the second occurrence of `at` may still be ahead while the first is past.
    """
    limit = after.astimezone(UTC)
    for fold in (0, 1):
        candidate = datetime.combine(day, at, tzinfo=tz).replace(fold=fold)
        instant = candidate.astimezone(UTC)
        if instant > limit or (instant == limit and not strictly):
            return candidate
    return None


def deliver_at(
    due: datetime, tz: ZoneInfo, quiet: QuietHours | None, days: Collection[int] | None, at: time | None
) -> datetime:
    """A reminder goes at the student's planned time when they gave one, else outside quiet hours."""
    if at is not None:
        return next_study_slot(due, tz, days or range(1, 8), at)
    return outside_quiet_hours(due, tz, quiet)


def in_holdout(subject: str, journey_id: str, percent: int) -> bool:
    """Stable per student and journey, so a restart or another instance assigns the same group."""
    if percent <= 0:
        return False
    digest = hashlib.sha256(f"{journey_id}:{subject}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < percent

"""When a student's cohort starts."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from journeys.spec import Cohort, CohortSchedule


@dataclass(frozen=True)
class CohortStarts:
    """The group a student joins starts `at` (aware): their first step opens then, not before."""

    at: datetime

    def due(self, now: datetime) -> bool:
        return self.at <= now


def first_monday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(7 - first.weekday()) % 7)


def _months_from(year: int, month: int) -> Iterator[tuple[int, int]]:
    while True:
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def cohort_start(cohort: Cohort, enrolled_at: datetime, tz: ZoneInfo) -> datetime:
    """The start a student enrolling at `enrolled_at` joins (aware, in UTC terms comparable).

    The cutoff is elapsed time, whatever zone `enrolled_at` is in: across a DST switch a week is 7 x 24 hours.
    A start whose local time falls in a DST gap keeps its wall time (fold 0: the offset before the switch).
    """
    if cohort.schedule is CohortSchedule.IMMEDIATE:
        return enrolled_at
    local = enrolled_at.astimezone(tz)
    # aware datetimes sharing a tzinfo subtract as wall times: take the moment in UTC to measure elapsed time
    enrolled = enrolled_at.astimezone(UTC)
    for year, month in _months_from(local.year, local.month):
        start = datetime.combine(first_monday(year, month), cohort.time, tzinfo=tz)
        # joining in the last days before a start is too late to prepare: take the next one
        if start - enrolled >= cohort.cutoff:
            return start
    raise AssertionError("unreachable")


def cohort_starts(cohort: Cohort, enrolled_at: datetime, tz: ZoneInfo) -> CohortStarts:
    return CohortStarts(cohort_start(cohort, enrolled_at, tz))

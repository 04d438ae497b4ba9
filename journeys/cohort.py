"""When a student's cohort starts."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from journeys.spec import Cohort, CohortSchedule


def first_monday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(7 - first.weekday()) % 7)


def _months_from(year: int, month: int):  # type: ignore[no-untyped-def]
    while True:
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def cohort_start(cohort: Cohort, enrolled_at: datetime, tz: ZoneInfo) -> datetime:
    """The start a student enrolling at `enrolled_at` joins (aware, in UTC terms comparable)."""
    if cohort.schedule is CohortSchedule.IMMEDIATE:
        return enrolled_at
    local = enrolled_at.astimezone(tz)
    for year, month in _months_from(local.year, local.month):
        start = datetime.combine(first_monday(year, month), cohort.time, tzinfo=tz)
        # joining in the last days before a start is too late to prepare: take the next one
        if start - enrolled_at >= cohort.cutoff:
            return start
    raise AssertionError("unreachable")

"""Journey time: durations in journey files, the clocks, when a cohort starts, and the progress tracker."""

import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from journeys.clock import ManualClock, ScaledClock, SystemClock, make_clock
from journeys.cohort import cohort_start, first_monday
from journeys.durations import format_duration, parse_duration
from journeys.progress import Progress
from journeys.spec import Cohort, CohortSchedule

MSK = ZoneInfo("Europe/Moscow")
MONTHLY = Cohort(schedule=CohortSchedule.FIRST_MONDAY)  # cutoff 7 days, steps at 10:00


def msk(*args: int) -> datetime:
    return datetime(*args, tzinfo=MSK)  # type: ignore[misc]


# --- durations ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("3d", timedelta(days=3)),
        ("1w", timedelta(weeks=1)),
        (" 2 h ", timedelta(hours=2)),
        (45, timedelta(seconds=45)),
    ],
)
def test_duration_is_parsed(text: str | int, delta: timedelta) -> None:
    assert parse_duration(text) == delta


@pytest.mark.parametrize("text", ["3 days", "", "-1d", "1.5h", "d", "1y", "2h30m"])
def test_duration_written_wrong_is_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_boolean_is_not_a_duration() -> None:
    # YAML reads `pace: yes` as True, which is an int to Python
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(True)


@pytest.mark.parametrize("text", ["90s", "30m", "2h", "3d", "1w", "2w", "25h"])
def test_duration_is_written_back_the_way_it_was_read(text: str) -> None:
    assert format_duration(parse_duration(text)) == text


# --- clocks -------------------------------------------------------------------------------------------


def test_manual_clock_moves_only_when_advanced() -> None:
    start = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    clock = ManualClock(start)
    assert clock.now() == start
    assert clock.advance(timedelta(days=3)) == start + timedelta(days=3)
    assert clock.now() == start + timedelta(days=3)
    clock.set(start)
    assert clock.now() == start


def test_manual_clock_refuses_a_naive_start() -> None:
    with pytest.raises(ValueError, match="aware"):
        ManualClock(datetime(2026, 11, 20, 9, 0))


def test_scaled_clock_runs_speed_times_faster_than_real_time() -> None:
    start = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    real_before = time.monotonic()
    clock = ScaledClock(3600, start=start)
    time.sleep(0.05)
    journey_seconds = (clock.now() - start).total_seconds()
    real_elapsed = time.monotonic() - real_before
    # ~0.05 real seconds is ~180 journey seconds; the upper bound is whatever really elapsed
    assert 0.05 * 3600 <= journey_seconds <= real_elapsed * 3600 + 1


@pytest.mark.parametrize("speed", [0, -1])
def test_scaled_clock_refuses_a_speed_that_is_not_positive(speed: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        ScaledClock(speed)


def test_make_clock_uses_real_time_at_speed_one() -> None:
    assert isinstance(make_clock(1), SystemClock)
    scaled = make_clock(60)
    assert isinstance(scaled, ScaledClock)
    assert scaled.speed == 60


# --- cohorts ------------------------------------------------------------------------------------------


def test_immediate_cohort_starts_at_enrollment() -> None:
    now = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
    assert cohort_start(Cohort(), now, MSK) == now


@pytest.mark.parametrize(
    ("year", "month", "monday"),
    [
        (2026, 11, date(2026, 11, 2)),
        (2026, 12, date(2026, 12, 7)),
        (2027, 1, date(2027, 1, 4)),
        (2027, 2, date(2027, 2, 1)),  # the 1st itself is a Monday
    ],
)
def test_first_monday_of_the_month(year: int, month: int, monday: date) -> None:
    assert first_monday(year, month) == monday


@pytest.mark.parametrize(
    ("enrolled", "start"),
    [
        pytest.param(msk(2026, 11, 28, 12, 0), msk(2026, 12, 7, 10, 0), id="more-than-a-week-ahead"),
        pytest.param(msk(2026, 11, 30, 10, 0), msk(2026, 12, 7, 10, 0), id="exactly-the-cutoff"),
        pytest.param(msk(2026, 11, 30, 10, 1), msk(2027, 1, 4, 10, 0), id="a-minute-past-the-cutoff"),
        pytest.param(msk(2026, 12, 1, 12, 0), msk(2027, 1, 4, 10, 0), id="less-than-a-week-ahead"),
        pytest.param(msk(2026, 12, 7, 11, 0), msk(2027, 1, 4, 10, 0), id="on-start-day-after-start"),
        pytest.param(msk(2026, 12, 31, 23, 0), msk(2027, 2, 1, 10, 0), id="new-year-within-cutoff"),
        pytest.param(msk(2026, 12, 20, 9, 0), msk(2027, 1, 4, 10, 0), id="year-rollover"),
        pytest.param(msk(2026, 11, 2, 9, 0), msk(2026, 12, 7, 10, 0), id="an-hour-before-a-start"),
    ],
)
def test_first_monday_cohort_with_seven_day_cutoff(enrolled: datetime, start: datetime) -> None:
    joined = cohort_start(MONTHLY, enrolled.astimezone(UTC), MSK)
    assert joined == start
    assert joined.astimezone(MSK).hour == 10


def test_cohort_start_is_at_the_configured_local_time() -> None:
    cohort = Cohort(schedule=CohortSchedule.FIRST_MONDAY, cutoff=timedelta(0), time=datetime.min.time())
    enrolled = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert cohort_start(cohort, enrolled, MSK) == msk(2026, 12, 7, 0, 0)
    assert cohort_start(cohort, enrolled, MSK) == datetime(2026, 12, 6, 21, 0, tzinfo=UTC)


# --- the progress tracker -----------------------------------------------------------------------------


def test_progress_tracker_three_of_eight() -> None:
    progress = Progress(3, 8)
    assert progress.bar() == "▓▓▓░░░░░"
    assert progress.percent == 37


@pytest.mark.parametrize(
    ("done", "total", "bar", "percent"),
    [
        (0, 8, "░░░░░░░░", 0),
        (8, 8, "▓▓▓▓▓▓▓▓", 100),
        (1, 9, "▓░░░░░░░", 11),
        (2, 7, "▓▓░░░░░░", 28),
        (6, 7, "▓▓▓▓▓▓▓░", 85),
        (0, 0, "▓▓▓▓▓▓▓▓", 100),  # a track without steps counts as finished
    ],
)
def test_progress_bar_and_percent(done: int, total: int, bar: str, percent: int) -> None:
    progress = Progress(done, total)
    assert progress.bar() == bar
    assert len(progress.bar()) == 8
    assert progress.percent == percent

"""Pure rules behind the proactive bot: quiet hours, study slots, holdout, stall deadlines, rewards."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from journeys.loader import load_journey
from journeys.rewards import earned_rewards
from journeys.spec import Stall
from journeys.stalls import PaceState, stall_deadline, stall_reasons
from journeys.timing import QuietHours, deliver_at, in_holdout, next_study_slot, outside_quiet_hours
from tests.conftest import DEFAULT_JOURNEY, EXAMPLE_JOURNEY

MSK = ZoneInfo("Europe/Moscow")
NIGHT = QuietHours.parse("22:00-09:00")
WEEK = timedelta(weeks=1)


def msk(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=MSK)


def test_daytime_message_goes_at_once() -> None:
    assert outside_quiet_hours(msk(20, 15), MSK, NIGHT) == msk(20, 15)


def test_late_evening_message_waits_for_the_next_morning() -> None:
    assert outside_quiet_hours(msk(20, 23, 30), MSK, NIGHT) == msk(21, 9)


def test_early_morning_message_waits_until_nine_the_same_day() -> None:
    assert outside_quiet_hours(msk(21, 6), MSK, NIGHT) == msk(21, 9)


def test_quiet_hours_within_one_day() -> None:
    lunch = QuietHours.parse("13:00-14:00")
    assert outside_quiet_hours(msk(20, 13, 30), MSK, lunch) == msk(20, 14)


def test_quiet_hours_follow_the_students_time_zone() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    # 15:00 in Moscow is 21:00 in Tokyo: fine; 17:00 in Moscow is 23:00 there: wait for 09:00 Tokyo
    assert outside_quiet_hours(msk(20, 15), tokyo, NIGHT) == msk(20, 15)
    assert outside_quiet_hours(msk(20, 17), tokyo, NIGHT) == datetime(2026, 11, 21, 9, tzinfo=tokyo)


def test_study_slot_is_the_next_planned_day_at_the_planned_hour() -> None:
    friday_evening = msk(20, 20)
    weekdays = {1, 2, 3, 4, 5}
    assert next_study_slot(friday_evening, MSK, weekdays, time(19)) == msk(23, 19)  # Monday
    assert next_study_slot(msk(20, 18), MSK, weekdays, time(19)) == msk(20, 19)  # later today


def test_a_plan_wins_over_quiet_hours_defaults() -> None:
    assert deliver_at(msk(20, 23), MSK, NIGHT, {6, 7}, time(21)) == msk(21, 21)
    assert deliver_at(msk(20, 23), MSK, NIGHT, None, None) == msk(21, 9)


def test_holdout_is_stable_and_close_to_its_share() -> None:
    chosen = [in_holdout(str(n), "course", 10) for n in range(5000)]
    assert chosen == [in_holdout(str(n), "course", 10) for n in range(5000)]
    assert 400 < sum(chosen) < 600
    assert not any(in_holdout(str(n), "course", 0) for n in range(100))


def test_stall_deadline_is_the_earlier_of_idle_and_behind_pace() -> None:
    start = msk(2, 10)
    stall = Stall(idle=timedelta(days=10), behind=2)
    fresh = PaceState(started_at=start, last_progress_at=None, done=0, total=8)
    assert stall_deadline(fresh, WEEK, stall) == start + timedelta(days=10)
    busy = PaceState(started_at=start, last_progress_at=start + 3 * WEEK, done=1, total=8)
    # week 4 and one step done: behind by two from the start of week 3 already
    assert stall_deadline(busy, WEEK, stall) == start + 3 * WEEK


def test_nobody_is_stalled_after_the_last_step() -> None:
    done = PaceState(started_at=msk(2, 10), last_progress_at=msk(20, 10), done=8, total=8)
    assert stall_deadline(done, WEEK, Stall()) is None


def test_stall_reasons_say_how_far_behind() -> None:
    state = PaceState(started_at=msk(2, 10), last_progress_at=msk(3, 10), done=1, total=8)
    reasons = stall_reasons(state, WEEK, msk(30, 10), ladder_exhausted=False)
    assert reasons.to_json() == {"idle_days": 27.0, "behind_steps": 3, "ladder_exhausted": False}


def test_rewards_by_step_percent_and_stage() -> None:
    journey = load_journey(EXAMPLE_JOURNEY)
    ids = lambda done: [r.reward.id for r in earned_rewards(journey, "novice", set(done))]  # noqa: E731
    assert ids(["how-it-works"]) == []
    assert ids(["how-it-works", "setup"]) == ["first-step"]
    assert ids(["how-it-works", "setup", "variables"]) == ["first-step", "halfway", "basics-done"]
    # the advanced track has no basics steps: no stage reward, and no reward for a step it skips
    assert [r.reward.id for r in earned_rewards(journey, "advanced", {"functions"})] == ["halfway"]


def test_default_journey_rewards_are_reachable_on_both_tracks() -> None:
    journey = load_journey(DEFAULT_JOURNEY)
    for track in journey.spec.tracks:
        everything = set(journey.spec.tracks[track].steps)
        earned = {r.reward.id for r in earned_rewards(journey, track, everything)}
        assert {"quarter", "halfway", "finish", "opening-done"} <= earned

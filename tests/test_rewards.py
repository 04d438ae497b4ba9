"""Milestone rewards (journeys/rewards.py) on plain data: no database, no bot. Properties over every track of the
shipped journeys and any set of completed steps, including steps of other tracks and unknown ones."""

from hypothesis import given, settings
from hypothesis import strategies as st

from journeys.decisions import RewardEarned
from journeys.journey import Journey
from journeys.loader import load_journey
from journeys.rewards import earned_rewards
from tests.conftest import DEFAULT_JOURNEY, EXAMPLE_JOURNEY

PLAIN = settings(max_examples=100, deadline=None, derandomize=True, database=None)
JOURNEYS = [load_journey(EXAMPLE_JOURNEY), load_journey(DEFAULT_JOURNEY)]
TRACKS = [(journey, track) for journey in JOURNEYS for track in journey.spec.tracks]


@st.composite
def completions(draw: st.DrawFn) -> tuple[Journey, str, set[str]]:
    """A track and completed steps: any of the journey's steps (other tracks' too), and an unknown one."""
    journey, track = draw(st.sampled_from(TRACKS))
    everything = sorted({step.id for stage in journey.spec.stages for step in stage.steps} | {"not-a-step"})
    return journey, track, draw(st.sets(st.sampled_from(everything)))


def ids(journey: Journey, track: str, completed: set[str]) -> list[str]:
    return [earned.reward.id for earned in earned_rewards(journey, track, completed)]


@PLAIN
@given(completions(), st.data())
def test_more_steps_done_never_takes_a_reward_back(case: tuple[Journey, str, set[str]], data: st.DataObject) -> None:
    journey, track, completed = case
    more = completed | data.draw(st.sets(st.sampled_from(journey.spec.tracks[track].steps)))
    assert set(ids(journey, track, completed)) <= set(ids(journey, track, more))


@PLAIN
@given(completions())
def test_only_the_tracks_own_steps_count(case: tuple[Journey, str, set[str]]) -> None:
    journey, track, completed = case
    own = completed & set(journey.spec.tracks[track].steps)
    assert ids(journey, track, completed) == ids(journey, track, own)


@PLAIN
@given(completions())
def test_rewards_come_once_each_in_the_journeys_order(case: tuple[Journey, str, set[str]]) -> None:
    journey, track, completed = case
    earned = ids(journey, track, completed)
    order = [reward.id for reward in journey.spec.rewards]
    assert earned == [reward for reward in order if reward in earned]
    assert all(isinstance(e, RewardEarned) for e in earned_rewards(journey, track, completed))


@PLAIN
@given(completions())
def test_a_step_reward_comes_exactly_when_its_step_is_done_on_the_track(case: tuple[Journey, str, set[str]]) -> None:
    journey, track, completed = case
    earned = ids(journey, track, completed)
    for reward in journey.spec.rewards:
        step = reward.when.after_step
        if step is not None:
            assert (reward.id in earned) == (step in completed and step in journey.spec.tracks[track].steps)


@PLAIN
@given(completions())
def test_a_stage_reward_needs_every_step_of_the_stage_on_the_track(case: tuple[Journey, str, set[str]]) -> None:
    journey, track, completed = case
    steps = journey.spec.tracks[track].steps
    for reward in journey.spec.rewards:
        stage = reward.when.after_stage
        if stage is None:
            continue
        of_stage = [step for step in steps if journey.stage_of(step).id == stage]
        with_all = completed | set(of_stage)
        assert (reward.id in ids(journey, track, with_all)) == bool(of_stage)
        for missing in of_stage:  # one step short is not the stage done
            assert reward.id not in ids(journey, track, with_all - {missing})


@PLAIN
@given(st.sampled_from(TRACKS))
def test_percent_rewards_at_the_edges(case: tuple[Journey, str]) -> None:
    journey, track = case
    steps = journey.spec.tracks[track].steps
    percent_rewards = [r.id for r in journey.spec.rewards if r.when.at_percent is not None]
    assert not set(percent_rewards) & set(ids(journey, track, set()))
    assert set(percent_rewards) <= set(ids(journey, track, set(steps)))


def test_percent_rewards_count_whole_percent_of_the_track() -> None:
    journey = load_journey(EXAMPLE_JOURNEY)  # "halfway" at 50%: the advanced track has two steps
    assert "halfway" not in ids(journey, "advanced", set())
    assert "halfway" in ids(journey, "advanced", {"project"})
    # novice has five: two are 40%, three are 60%
    assert "halfway" not in ids(journey, "novice", {"how-it-works", "setup"})
    assert "halfway" in ids(journey, "novice", {"how-it-works", "setup", "variables"})

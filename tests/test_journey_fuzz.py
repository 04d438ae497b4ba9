"""Random journey files: the loader either accepts one or reports one-line issues, never anything else, and a
journey it accepts works in the domain (stall deadlines, cohort starts). Bounded and derandomized, so it is
quick and the same in CI."""

from copy import deepcopy
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.settings import SHIPPED_JOURNEYS
from journeys.cohort import cohort_start
from journeys.journey import Journey
from journeys.loader import JourneyError, parse_journey
from journeys.spec import Cohort
from journeys.stalls import PaceState, stall_deadline, stall_reasons

EXAMPLE_TEXT = (SHIPPED_JOURNEYS / "example.en.yaml").read_text(encoding="utf-8")
EXAMPLE: dict[str, Any] = yaml.safe_load(EXAMPLE_TEXT)
# a parse takes ~30 ms (PyYAML is pure Python): 50 examples a test keep the file at a few seconds
FUZZ = settings(max_examples=50, deadline=None, derandomize=True, database=None, suppress_health_check=[*HealthCheck])
YAML_CHARS = st.sampled_from([*"[]{}:,-?&*!|>'\"#%@`~ \n\t<>/;=", "a", "b", "1", "0", "yes", "10:00", "\u2028"])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**25), max_value=10**25),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["1w", "0s", "366d", "367d", "-1d", "10:00", "<b>x", "a & b", "<3", "novice", "setup", "\n"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def one_line_issues(error: JourneyError) -> None:
    assert error.issues
    for issue in error.issues:
        assert len(str(issue).splitlines()) == 1, repr(str(issue))
        assert str(issue).startswith("fuzz.yaml:")


def works(journey: Journey) -> None:
    """What the scheduler does with a journey's numbers at the far end of their ranges."""
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    spec = journey.spec
    for track_id, track in spec.tracks.items():
        total = len(journey.steps_of(track_id))
        stall = track.stall or spec.stall
        for done in (0, total - 1):
            state = PaceState(started_at=now, last_progress_at=None, done=done, total=total)
            stall_deadline(state, spec.pace, stall)
            stall_reasons(state, spec.pace, now + timedelta(days=3650), ladder_exhausted=False)
    cohort_start(spec.cohort, now, ZoneInfo("Pacific/Kiritimati"))


def check(text: str) -> None:
    try:
        journey = parse_journey(text, "fuzz.yaml")
    except JourneyError as error:
        one_line_issues(error)
    else:
        works(journey)


@FUZZ
@given(st.lists(YAML_CHARS, max_size=60).map("".join))
def test_random_yaml_is_a_journey_or_one_line_issues(text: str) -> None:
    check(text)


@FUZZ
@given(st.integers(min_value=0, max_value=len(EXAMPLE_TEXT)), st.lists(YAML_CHARS, max_size=12).map("".join))
def test_example_with_random_characters_inserted(at: int, inserted: str) -> None:
    check(EXAMPLE_TEXT[:at] + inserted + EXAMPLE_TEXT[at:])


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a parsed document a value can be swapped in."""
    found = [prefix] if prefix else []
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in children:
        found += paths(child, (*prefix, key))
    return found


EXAMPLE_PATHS = paths(EXAMPLE)


def replaced(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    document = deepcopy(EXAMPLE)
    parent: Any = document
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return document


@FUZZ
@given(st.sampled_from(EXAMPLE_PATHS), values)
def test_example_with_a_random_value_anywhere(path: tuple[Any, ...], value: Any) -> None:
    check(yaml.safe_dump(replaced(path, value), allow_unicode=True, sort_keys=False))


DURATION_PATHS = [("pace",), ("stall", "idle"), ("nudges", 0, "after"), ("nudges", 1, "after"), ("cohort", "cutoff")]
durations = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.from_regex(r"\A-?[0-9]{1,25}[smhdw]\Z", fullmatch=True),
    st.floats(),
)


@FUZZ
@given(st.sampled_from(DURATION_PATHS), durations, st.integers(min_value=1, max_value=10**25))
def test_any_duration_is_refused_or_works(path: tuple[Any, ...], duration: Any, behind: int) -> None:
    document = replaced(path, duration)
    document["cohort"]["schedule"] = "first_monday_monthly"  # the cutoff walks month by month
    document["stall"]["behind"] = behind
    check(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))


@FUZZ
@given(st.one_of(st.integers(min_value=-1, max_value=10**6), st.from_regex(r"\A[0-9]{1,3}(:[0-9]{1,3}){0,2}\Z")))
def test_a_time_is_taken_only_as_written_in_quotes(value: Any) -> None:
    text = EXAMPLE_TEXT.replace("schedule: immediate", f"schedule: immediate\n  time: {value}")
    quoted = EXAMPLE_TEXT.replace("schedule: immediate", f'schedule: immediate\n  time: "{value}"')
    for source in (text, quoted):
        try:
            cohort: Cohort = parse_journey(source, "fuzz.yaml").spec.cohort
        except JourneyError as error:
            one_line_issues(error)
        else:  # accepted only as the author wrote it, never 10:00 read as 600 seconds
            assert cohort.time.strftime("%H:%M") == str(value)

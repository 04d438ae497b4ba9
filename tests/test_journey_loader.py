"""Journey files: the shipped ones load, every authoring mistake is reported as `file:path:message`,
routing picks the right track and free-text answers are checked. Pure domain: no Telegram, no database."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.settings import SHIPPED_JOURNEYS
from journeys.journey import Journey, check_text
from journeys.loader import JourneyError, JourneyIssue, format_path, load_journey, parse_journey
from journeys.spec import Question

JOURNEYS = SHIPPED_JOURNEYS
EXAMPLE = JOURNEYS / "example.en.yaml"
DEFAULT = JOURNEYS / "online_store.ru.yaml"
NAME = "broken.yaml"

Document = dict[str, Any]


def example() -> Document:
    return yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


def issues_of(text: str) -> list[str]:
    with pytest.raises(JourneyError) as caught:
        parse_journey(text, NAME)
    return [str(issue) for issue in caught.value.issues]


def issues_after(mutate: Callable[[Document], object]) -> list[str]:
    """The issues reported for the English example after `mutate` changed its parsed document."""
    document = example()
    mutate(document)
    return issues_of(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))


def step(step_id: str) -> Document:
    return {"id": step_id, "title": f"Step {step_id}", "text": "Do it."}


@pytest.fixture(scope="module")
def store() -> Journey:
    return load_journey(DEFAULT)


# --- the shipped journeys ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", [EXAMPLE, DEFAULT], ids=lambda p: p.name)
def test_shipped_journey_loads(path: Path) -> None:
    journey = load_journey(path)
    assert set(journey.spec.tracks) == {"novice", "advanced"}
    for track_id in journey.spec.tracks:
        assert journey.steps_of(track_id)


def test_unmutated_example_dump_is_valid() -> None:
    # guards the helper every error test relies on: dumping the example unchanged gives a valid journey
    journey = parse_journey(yaml.safe_dump(example(), allow_unicode=True, sort_keys=False), NAME)
    assert journey.id == "python-basics"


def test_missing_file_is_reported_not_raised_as_oserror(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(JourneyError) as caught:
        load_journey(missing)
    assert [str(i) for i in caught.value.issues] == [f"{missing}:(file):No such file or directory"]


def test_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    windows = tmp_path / "cp1251.yaml"
    windows.write_bytes(DEFAULT.read_text(encoding="utf-8").encode("cp1251", errors="replace"))
    with pytest.raises(JourneyError) as caught:
        load_journey(windows)
    ((issue,),) = [caught.value.issues]
    assert (issue.file, issue.path) == (str(windows), "(file)")


# --- error paths: exact `file:path:message` -----------------------------------------------------------


def test_unknown_key_names_its_full_path() -> None:
    def typo(d: Document) -> None:
        d["tracks"]["novice"]["stepz"] = ["setup"]

    assert issues_after(typo) == [f"{NAME}:tracks.novice.stepz:unknown key"]


def test_missing_required_key() -> None:
    assert issues_after(lambda d: d.pop("welcome")) == [f"{NAME}:welcome:required key is missing"]


def test_duplicate_step_id_is_reported_at_the_second_occurrence() -> None:
    def duplicate(d: Document) -> None:
        d["stages"][0]["steps"].append(step("x"))
        d["stages"][1]["steps"].insert(0, step("x"))

    assert issues_after(duplicate) == [f"{NAME}:stages[1].steps[0].id:duplicate step id 'x'"]


def test_track_naming_a_missing_step() -> None:
    assert issues_after(lambda d: d["tracks"]["novice"]["steps"].insert(3, "nope")) == [
        f"{NAME}:tracks.novice.steps[3]:unknown step 'nope'"
    ]


def test_step_listed_twice_in_a_track() -> None:
    assert issues_after(lambda d: d["tracks"]["advanced"]["steps"].append("functions")) == [
        f"{NAME}:tracks.advanced.steps[2]:step 'functions' appears twice in the track"
    ]


def test_routing_rule_with_unknown_track() -> None:
    def mutate(d: Document) -> None:
        d["routing"]["rules"][0]["track"] = "expert"

    assert issues_after(mutate) == [f"{NAME}:routing.rules[0].track:unknown track 'expert'"]


def test_routing_rule_with_unknown_question() -> None:
    def mutate(d: Document) -> None:
        d["routing"]["rules"][0]["when"]["age"] = ["adult"]

    assert issues_after(mutate) == [f"{NAME}:routing.rules[0].when.age:unknown question 'age'"]


def test_routing_rule_with_unknown_answer() -> None:
    def mutate(d: Document) -> None:
        d["routing"]["rules"][0]["when"]["level"] = ["intermediate", "guru"]

    assert issues_after(mutate) == [f"{NAME}:routing.rules[0].when.level[1]:unknown answer 'guru'"]


def test_routing_rule_on_a_free_text_question() -> None:
    def mutate(d: Document) -> None:
        d["routing"]["rules"][0]["when"]["goal"] = ["anything"]

    assert issues_after(mutate) == [f"{NAME}:routing.rules[0].when.goal:routing can only use choice questions"]


def test_routing_default_unknown() -> None:
    def mutate(d: Document) -> None:
        d["routing"]["default"] = "nope"

    assert issues_after(mutate) == [f"{NAME}:routing.default:unknown track 'nope'"]


def test_duplicate_question_id() -> None:
    def mutate(d: Document) -> None:
        d["survey"]["questions"][3]["id"] = "goal"

    assert issues_after(mutate) == [f"{NAME}:survey.questions[3].id:duplicate question id 'goal'"]


def test_choice_question_without_options() -> None:
    def mutate(d: Document) -> None:
        del d["survey"]["questions"][3]["options"]

    assert issues_after(mutate) == [f"{NAME}:survey.questions[3].options:a choice question needs at least one option"]


def test_duplicate_option_id_first_two() -> None:
    def mutate(d: Document) -> None:
        d["survey"]["questions"][3]["options"][1]["id"] = "first"

    assert issues_after(mutate) == [f"{NAME}:survey.questions[3].options[1].id:duplicate option id 'first'"]


def test_duplicate_option_id_is_reported_at_the_copy() -> None:
    def mutate(d: Document) -> None:
        d["survey"]["questions"][3]["options"].append({"id": "familiar", "text": "Again"})

    assert issues_after(mutate) == [f"{NAME}:survey.questions[3].options[2].id:duplicate option id 'familiar'"]


def test_bad_duration() -> None:
    def mutate(d: Document) -> None:
        d["pace"] = "3 days"

    assert issues_after(mutate) == [f"{NAME}:pace:'3 days' is not a duration: write it as 90s, 30m, 2h, 3d or 1w"]


def test_bad_regex_pattern() -> None:
    def mutate(d: Document) -> None:
        d["survey"]["questions"][2]["pattern"] = "[a-z"

    (issue,) = issues_after(mutate)
    assert issue.startswith(f"{NAME}:survey.questions[2].pattern:not a valid regular expression: ")


def test_wrong_format_version() -> None:
    def mutate(d: Document) -> None:
        d["format"] = 2

    assert issues_after(mutate) == [f"{NAME}:format:unsupported format 2, expected 1"]


def test_every_shape_problem_is_reported_at_once() -> None:
    def mutate(d: Document) -> None:
        d["pace"] = "soon"
        d["stages"][0]["steps"][1]["link"]["url"] = "ftp://python.org"
        d["colour"] = "blue"

    assert sorted(issues_after(mutate)) == sorted(
        [
            f"{NAME}:pace:'soon' is not a duration: write it as 90s, 30m, 2h, 3d or 1w",
            f"{NAME}:stages[0].steps[1].link.url:'ftp://python.org' is not a web address: "
            "write it as https://host/path, without spaces",
            f"{NAME}:colour:unknown key",
        ]
    )


def test_duplicate_yaml_key_reports_its_line() -> None:
    text = EXAMPLE.read_text(encoding="utf-8") + "title: Twice\n"
    line = text.count("\n")  # the appended key sits on the last line
    assert issues_of(text) == [f"{NAME}:line {line}, column 1:invalid YAML: duplicate key 'title'"]


def test_invalid_yaml_reports_a_line() -> None:
    (issue,) = issues_of("format: 1\nid: x\ntitle: [unclosed\nwelcome: hi\n")
    assert issue.startswith(f"{NAME}:line ")
    assert ":invalid YAML: " in issue


def test_a_document_that_is_not_a_mapping() -> None:
    assert issues_of("- just\n- a list\n") == [f"{NAME}:(document):a journey must be a mapping of keys"]


def test_an_issue_is_one_line_whatever_its_file_path_and_message_hold() -> None:
    issue = JourneyIssue("odd\nname.yaml", "tracks.'a\\nb'", "bad\r\nvalue\u2028here\x85")
    assert str(issue) == "odd\\nname.yaml:tracks.'a\\nb':bad\\r\\nvalue\\u2028here\\x85"
    assert len(str(issue).splitlines()) == 1


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        (("tracks", "novice", "steps", 2), "tracks.novice.steps[2]"),
        (("tracks", "Big Track", "[key]"), "tracks.'Big Track'"),
        (("routing", "rules", 0, "when", "a\nb"), "routing.rules[0].when.'a\\nb'"),
        (("a:b",), "'a:b'"),
        ((), "(document)"),
    ],
)
def test_path_quotes_keys_that_are_not_plain_names(loc: tuple[int | str, ...], path: str) -> None:
    assert format_path(loc) == path


def test_a_key_that_is_not_text_is_named_as_written() -> None:
    (issue,) = issues_of("format: 1\nyes: 1\n")
    assert issue == f"{NAME}:line 2, column 1:invalid YAML: a key must be text: put yes in quotes"


# --- routing ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("experience", "level", "track"),
    [
        ("marketplace", "basic", "advanced"),
        ("own_shop", "confident", "advanced"),
        ("none", "confident", "novice"),
        ("marketplace", "beginner", "novice"),
        ("offline", "basic", "novice"),
    ],
)
def test_routing_of_the_shipped_journey(store: Journey, experience: str, level: str, track: str) -> None:
    answers = {"experience": experience, "level": level, "goal": "first_shop", "format": "first"}
    assert store.route(answers) == track


def test_routing_default_when_answers_are_missing(store: Journey) -> None:
    assert store.route({}) == "novice"


def test_first_matching_rule_wins() -> None:
    document = example()
    document["routing"]["rules"] = [
        {"track": "novice", "when": {"format": ["first"]}},
        {"track": "advanced", "when": {"experience": ["pro"]}},
    ]
    journey = parse_journey(yaml.safe_dump(document, allow_unicode=True), NAME)
    assert journey.route({"experience": "pro", "format": "first"}) == "novice"
    assert journey.route({"experience": "pro", "format": "familiar"}) == "advanced"
    assert journey.route({"experience": "none", "format": "familiar"}) == "novice"  # the default


def test_novice_track_starts_with_course_format_and_advanced_skips_it(store: Journey) -> None:
    assert store.next_step("novice", set()).id == "course-format"
    advanced = [s.id for s in store.steps_of("advanced")]
    assert advanced[0] == "unit-economics"
    assert "course-format" not in advanced


def test_next_step_is_the_first_not_done_even_out_of_order(store: Journey) -> None:
    done = {"course-format", "unit-economics"}
    assert store.next_step("novice", done).id == "niche-demand"
    assert store.done_count("novice", done) == 2
    assert store.done_count("advanced", done) == 1


# --- free-text answers --------------------------------------------------------------------------------


def test_check_text_length_limits_of_the_shop_idea(store: Journey) -> None:
    question = store.question("shop_idea")
    assert question is not None
    assert check_text(question, "ab") == check_text(question, "  ab  ")
    short = check_text(question, "ab")
    assert (short.ok, short.reason, short.limit) == (False, "too_short", 3)
    long = check_text(question, "x" * 301)
    assert (long.ok, long.reason, long.limit) == (False, "too_long", 300)
    assert check_text(question, "свечи ручной работы").ok
    assert check_text(question, "x" * 300).ok


def test_check_text_pattern_must_match_the_whole_answer() -> None:
    question = Question(id="phone", text="Your phone?", input="text", pattern=r"\+?\d{10,12}")
    assert check_text(question, "+79991234567").ok
    wrong = check_text(question, "call me +79991234567")
    assert (wrong.ok, wrong.reason) == (False, "pattern")


def test_a_time_zone_question_needs_real_zones() -> None:
    def add(document: Document) -> None:
        document["survey"]["questions"].append(
            {
                "id": "zone",
                "text": "Where are you?",
                "plan": "timezone",
                "options": [
                    {"id": "mars", "text": "Mars", "timezone": "Mars/Olympus"},
                    {"id": "none", "text": "Nowhere"},
                ],
            }
        )

    assert issues_after(add) == [f"{NAME}:survey.questions[4].options[0].timezone:unknown time zone 'Mars/Olympus'"]


def test_choosing_a_time_zone_is_part_of_the_default_survey(store: Journey) -> None:
    question = store.question("timezone")
    assert question is not None and question.plan == "timezone"
    assert {option.timezone for option in question.options} >= {"Europe/Moscow", "Asia/Vladivostok"}

"""A corpus of broken journey files: each is refused with the problem named at its place, and
`journeybot journey validate` reports all of them as `file:path:message` lines, never a traceback.
Pure domain plus one run of the command in a subprocess; no Telegram, no database."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.settings import SHIPPED_JOURNEYS
from journeys.journey import Journey
from journeys.loader import JourneyError, load_journey, parse_journey

JOURNEYS = SHIPPED_JOURNEYS
EXAMPLE_TEXT = (JOURNEYS / "example.en.yaml").read_text(encoding="utf-8")
QUOTE_TIMES = 'write times in quotes, e.g. "10:00"'
TOO_LONG = "at most 366d"
KEY_NOT_TEXT = "a key must be plain text"
# splitlines() breaks a line at each of these, as a reader of stderr would
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def example_with(old: str, new: str) -> str:
    assert EXAMPLE_TEXT.count(old) == 1, old
    return EXAMPLE_TEXT.replace(old, new)


def with_free_text_pattern(pattern: str) -> str:
    return example_with("      max_length: 200\n", f"      max_length: 200\n      pattern: '{pattern}'\n")


def with_plan_option(option: str) -> str:
    question = f"    - id: when\n      text: When do you study?\n      plan: time\n      options:\n        - {option}\n"
    return example_with("    - id: format\n", question + "    - id: format\n")


def deeply_nested(depth: int) -> str:
    return example_with("title: Python in four weeks", "title: " + "[" * depth + "]" * depth)


NESTED_KEYS = "\n".join(f"{'  ' * level}k{level}:" for level in range(200)) + " x\n"

# name → (file content, the path of one expected issue, a part of its message)
BROKEN: dict[str, tuple[str | bytes, str, str]] = {
    # tracebacks before: deep nesting, unhashable keys, huge numbers, regexes the re module chokes on
    "deep_flow_nesting": (deeply_nested(5000), "line 4, column 27", "nested deeper than"),
    "deep_mapping_nesting": (NESTED_KEYS, "line ", "nested deeper than"),
    "list_as_key": ("? [a, b]\n: x\n", "line 1, column 3", KEY_NOT_TEXT),
    "mapping_as_key": ("? {a: 1}\n: x\n", "line 1, column 3", KEY_NOT_TEXT),
    "alias_as_key": ("x: &a [1]\n*a : 2\n", "line 1, column 4", KEY_NOT_TEXT),
    "twenty_digit_seconds": (example_with("pace: 1w", "pace: 99999999999999999999"), "pace", TOO_LONG),
    "twenty_digit_days": (example_with("pace: 1w", "pace: 99999999999999999999d"), "pace", TOO_LONG),
    "duration_of_5000_digits": (example_with("pace: 1w", f"pace: {'9' * 5000}d"), "pace", TOO_LONG),
    "int_of_5000_digits": (
        example_with("weekly_cap: 3", f"weekly_cap: {'9' * 5000}"),
        "line 86, column 15",
        "cannot read this value: Exceeds the limit (4300 digits) for integer string conversion: value has 5000 digits",
    ),
    "impossible_date": (
        example_with("title: Python in four weeks", "title: 2024-13-45"),
        "line 4, column 8",
        "cannot read this value: month must be in 1..12",
    ),
    "regex_huge_repeat": (
        with_free_text_pattern("a{4294967296}"),
        "survey.questions[2].pattern",
        "not a valid regular expression",
    ),
    "regex_nested_groups": (
        with_free_text_pattern("(" * 1500 + ")" * 1500),
        "survey.questions[2].pattern",
        "at most 200 characters",
    ),
    "regex_bad_syntax": (with_free_text_pattern("[a-z"), "survey.questions[2].pattern", "not a valid regular"),
    # accepted before, broken at run time: durations out of range
    "negative_seconds": (
        example_with("pace: 1w", "pace: -3600"),
        "pace",
        "-3600 is negative: a duration is 0s or longer",
    ),
    "negative_text_duration": (example_with("pace: 1w", "pace: -3d"), "pace", "is not a duration"),
    "zero_pace": (example_with("pace: 1w", "pace: 0s"), "pace", "must be longer than 0s"),
    "billion_days": (example_with("pace: 1w", "pace: 999999999d"), "pace", TOO_LONG),
    "year_and_a_half_idle": (example_with("idle: 7d", "idle: 78w"), "stall.idle", TOO_LONG),
    "zero_nudge": (example_with("after: 2d", "after: 0"), "nudges[0].after", "must be longer than 0s"),
    "endless_cutoff": (
        example_with("schedule: immediate", "schedule: immediate\n  cutoff: 1000d"),
        "cohort.cutoff",
        TOO_LONG,
    ),
    "float_duration": (example_with("pace: 1w", "pace: .inf"), "pace", "expected a duration such as 90s"),
    "boolean_duration": (example_with("pace: 1w", "pace: yes"), "pace", "expected a duration"),
    "stall_behind_astronomic": (
        example_with("behind: 2", "behind: 1000000000000000000000000"),
        "stall.behind",
        "less than or equal to 1000",
    ),
    "weekly_cap_astronomic": (
        example_with("weekly_cap: 3", "weekly_cap: 100000000000000000000"),
        "schedule.weekly_cap",
        "less than or equal to 100",
    ),
    # texts Telegram's HTML parser refuses
    "html_heart_in_welcome": (example_with("Hi! I am", "Hi! I <3 am"), "welcome", '"<" starts no tag'),
    "html_unclosed_in_step": (
        example_with("Run <code>python --version</code>.", "Run <b>python --version."),
        "stages[0].steps[1].text",
        "<b> is never closed",
    ),
    "html_heart_in_nudge": (
        example_with("Twenty minutes today", "I <3 twenty minutes today"),
        "nudges[0].text",
        '"<" starts no tag',
    ),
    "html_paragraph_in_reward": (
        example_with("Basics done. Here", "<p>Basics done.</p> Here"),
        "rewards[2].text",
        "does not support the tag <p>",
    ),
    "html_misnested_completion": (
        example_with("<b>Python in four weeks</b>!", "<b><i>Python in four weeks</b></i>!"),
        "completion",
        "</b> found where </i> was expected",
    ),
    "html_in_question": (
        example_with("How would you rate your Python today?", "Rate your Python (1 < 2)?"),
        "survey.questions[1].text",
        '"<" starts no tag',
    ),
    "html_in_survey_intro": (example_with("It takes under a minute.", "It takes < 1 minute."), "survey.intro", "<"),
    "html_in_track_intro": (
        example_with("Skip the introduction,", "Skip the <intro>,"),
        "tracks.advanced.intro",
        "does not support the tag <intro>",
    ),
    "html_in_text_error": (
        example_with("      required: false\n", "      required: false\n      error: Use <a-z> or 0-9\n"),
        "survey.questions[2].error",
        "does not support the tag <a-z>",
    ),
    "blank_welcome": (example_with("welcome: |\n", 'welcome: "   "\nx_welcome: |\n'), "welcome", "no visible text"),
    "tags_only_reward": (
        example_with('text: "🏅 Python is installed: the hardest part of starting is behind you."', "text: <b></b>"),
        "rewards[0].text",
        "no visible text",
    ),
    "welcome_too_long": (example_with("welcome: |\n", f"welcome: {'x' * 5000}\nx_welcome: |\n"), "welcome", "3000"),
    # times: YAML 1.1 reads an unquoted 10:00 as the number 600
    "unquoted_cohort_time": (
        example_with("schedule: immediate", "schedule: immediate\n  time: 10:00"),
        "cohort.time",
        QUOTE_TIMES,
    ),
    "unquoted_plan_time": (
        with_plan_option("{id: morning, text: Morning, time: 9:30}"),
        "survey.questions[3].options[0].time",
        QUOTE_TIMES,
    ),
    "time_out_of_day": (
        with_plan_option('{id: late, text: Late, time: "25:00"}'),
        "survey.questions[3].options[0].time",
        "not a time of day",
    ),
    "time_without_minutes": (
        with_plan_option('{id: late, text: Late, time: "9"}'),
        "survey.questions[3].options[0].time",
        "not a time of day",
    ),
    "empty_study_days": (
        example_with(
            "    - id: format\n",
            "    - id: days\n      text: Days?\n      plan: days\n      options:\n"
            "        - {id: never, text: Never, days: []}\n    - id: format\n",
        ),
        "survey.questions[3].options[0].days",
        "at least 1 item",
    ),
    # odd keys: one line per issue whatever the key holds
    "newline_in_key": (EXAMPLE_TEXT + '"bad\\nkey": 1\n', "'bad\\nkey'", "unknown key"),
    "line_separator_in_key": (EXAMPLE_TEXT + '"bad\\u2028key": 1\n', "'bad\\u2028key'", "unknown key"),
    "newline_in_routing_key": (
        example_with("experience: [some, pro]", '"exp\\nerience": [some, pro]'),
        "routing.rules[0].when.'exp\\nerience'",
        "unknown question",
    ),
    "boolean_key": (
        example_with("experience: [some, pro]", "yes: [some, pro]"),
        "line ",
        "a key must be text: put yes in quotes",
    ),
    "null_key": (EXAMPLE_TEXT + "~: 1\n", "line ", "a key must be text: put ~ in quotes"),
    "number_as_track_key": (
        example_with("  advanced:\n    title: Straight", "  2024:\n    title: Straight"),
        "line ",
        "a key must be text: put 2024 in quotes",
    ),
    "bad_track_id": (
        example_with("  advanced:\n    title: Straight", "  Advanced Track:\n    title: Straight"),
        "tracks.'Advanced Track'",
        "invalid key: String should match pattern",
    ),
    # wrong types everywhere
    "stages_is_a_number": (example_with("stages:\n", "stages: 5\nx_stages:\n"), "stages", "valid tuple"),
    "tracks_is_a_list": (
        example_with("tracks:\n  novice:", "tracks: []\nx_tracks:\n  novice:"),
        "tracks",
        "dictionary",
    ),
    "survey_is_text": (example_with("survey:\n", "survey: ask\nx_survey:\n"), "survey", "dictionary"),
    "title_is_a_list": (example_with("title: Python in four weeks", "title: [a]"), "title", "valid string"),
    "answers_not_a_list": (
        example_with("experience: [some, pro]", "experience: pro"),
        "routing.rules[0].when.experience",
        "valid tuple",
    ),
    "weekly_cap_is_text": (example_with("weekly_cap: 3", "weekly_cap: many"), "schedule.weekly_cap", "integer"),
    "reward_is_a_number": (example_with("rewards:   ", "rewards: [1]\nx_rewards:"), "rewards[0]", "dictionary"),
    "bad_quiet_hours": (example_with('"22:00-09:00"', '"22:00-9"'), "schedule.quiet_hours", "pattern"),
    "unknown_zone": (
        with_plan_option("{id: mars, text: Mars, timezone: Mars/Olympus}"),
        "survey.questions[3].options[0].timezone",
        "unknown time zone",
    ),
    "link_url_with_space": (
        example_with('url: "https://www.python.org/downloads/"', 'url: "https://www.python.org/down loads/"'),
        "stages[0].steps[1].link.url",
        "'https://www.python.org/down loads/' is not a web address",
    ),
    "link_url_without_host": (
        example_with('url: "https://example.com/python-cheatsheet.pdf"', 'url: "https:///cheatsheet.pdf"'),
        "rewards[2].link.url",
        "'https:///cheatsheet.pdf' is not a web address",
    ),
    "media_url_with_newline": (
        example_with('url: "https://example.com/videos/how-it-works.mp4"', 'url: "https://example.com/how\\nit.mp4"'),
        "stages[0].steps[0].media.url",
        "'https://example.com/how\\nit.mp4' is not a web address",
    ),
    # the document itself
    "empty_file": ("", "(document)", "a journey must be a mapping of keys"),
    "only_comments": ("# nothing here\n", "(document)", "a journey must be a mapping of keys"),
    "root_is_a_list": ("- just\n- a list\n", "(document)", "a journey must be a mapping of keys"),
    "root_is_text": ("hello\n", "(document)", "a journey must be a mapping of keys"),
    "bom_then_a_list": ("\ufeff- a\n", "(document)", "a journey must be a mapping of keys"),
    "binary_garbage": (bytes(range(256)) * 4, "(file)", "not UTF-8 text"),
    "nul_bytes": ("format: 1\x00\x00\n", "line 1, column 10", "invalid YAML: character #x0000: special characters"),
    "tab_indentation": ("format: 1\nsurvey:\n\tintro: x\n", "line 3, column 1", "invalid YAML"),
    "two_documents": (EXAMPLE_TEXT + "---\nformat: 1\n", "line ", "invalid YAML"),
    "python_tag": (EXAMPLE_TEXT + "x: !!python/object:os.system ls\n", "line ", "invalid YAML"),
    "recursive_alias": (
        example_with("steps: [functions, project]", "steps: &loop [functions, *loop]"),
        "tracks.advanced.steps[1]",
        "valid string",
    ),
    "merge_key": (EXAMPLE_TEXT + "base: &b {a: 1}\nother:\n  <<: *b\n", "line ", "invalid YAML"),
    "duplicate_key": (EXAMPLE_TEXT + "title: Twice\n", "line ", "duplicate key 'title'"),
    "format_missing": (example_with("format: 1 ", "x_format: 1"), "format", "unsupported format None"),
    "format_two": (example_with("format: 1 ", "format: 2"), "format", "unsupported format 2"),
    "format_true": (example_with("format: 1 ", "format: true"), "format", "unsupported format True"),
    "format_text": (example_with("format: 1 ", 'format: "1"'), "format", "unsupported format '1'"),
    "huge_file": (EXAMPLE_TEXT + "#" * 600_000 + "\n", "(file)", "larger than 500 kB"),
    # unknown keys and references to what does not exist
    "unknown_top_key": (EXAMPLE_TEXT + "colour: blue\n", "colour", "unknown key"),
    "unknown_nested_key": (example_with("behind: 2", "behind: 2\n  ahead: 1"), "stall.ahead", "unknown key"),
    "track_with_missing_step": (
        example_with("steps: [functions, project]", "steps: [functions, nope]"),
        "tracks.advanced.steps[1]",
        "unknown step 'nope'",
    ),
    "rule_with_missing_track": (
        example_with("- track: advanced", "- track: expert"),
        "routing.rules[0].track",
        "'expert'",
    ),
    "default_missing_track": (example_with("default: novice", "default: nobody"), "routing.default", "unknown track"),
    "rule_with_missing_question": (
        example_with("experience: [some, pro]", "age: [adult]"),
        "routing.rules[0].when.age",
        "unknown question 'age'",
    ),
    "rule_with_missing_answer": (
        example_with("experience: [some, pro]", "experience: [some, guru]"),
        "routing.rules[0].when.experience[1]",
        "unknown answer 'guru'",
    ),
    "reward_after_missing_step": (
        example_with("after_step: setup", "after_step: nope"),
        "rewards[0].when.after_step",
        "unknown step 'nope'",
    ),
    "reward_after_missing_stage": (
        example_with("after_stage: basics", "after_stage: nope"),
        "rewards[2].when.after_stage",
        "unknown stage 'nope'",
    ),
}


def write(directory: Path, name: str, content: str | bytes) -> Path:
    path = directory / f"{name}.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", BROKEN)
def test_broken_journey_is_refused_at_its_place(tmp_path: Path, name: str) -> None:
    content, path, message = BROKEN[name]
    file = write(tmp_path, name, content)
    with pytest.raises(JourneyError) as caught:
        load_journey(file)
    issues = caught.value.issues
    assert any(i.path.startswith(path) and message in i.message for i in issues), [str(i) for i in issues]
    for issue in issues:
        assert issue.file == str(file)
        assert not any(char in str(issue) for char in LINE_BREAKS), repr(str(issue))


def test_validate_reports_the_whole_corpus_as_lines_and_exits_2(tmp_path: Path) -> None:
    files = [write(tmp_path, name, content) for name, (content, _, _) in BROKEN.items()]
    result = subprocess.run(
        [sys.executable, "-m", "bot", "journey", "validate", *map(str, files)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    line = re.compile(rf"^({'|'.join(re.escape(str(f)) for f in files)}):([^\n]+?):(.+)$")
    lines = result.stderr.splitlines()
    for text in lines:
        assert line.match(text), text
    assert {line.match(text).group(1) for text in lines} == set(map(str, files))  # type: ignore[union-attr]
    assert "could not be checked" not in result.stderr


@pytest.mark.parametrize("path", sorted(JOURNEYS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_journey_validates(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["journey", "validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith(f"{path}: ok")


def test_byte_order_mark_is_not_an_error(tmp_path: Path) -> None:
    file = write(tmp_path, "bom", "\ufeff" + EXAMPLE_TEXT)
    assert load_journey(file).id == "python-basics"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("schedule: immediate", 'schedule: immediate\n  time: "09:30"'),
        ("pace: 1w", "pace: 52w"),
        ("pace: 1w", "pace: 3600"),
        ("idle: 7d", "idle: 366d"),
        ("schedule: immediate", "schedule: immediate\n  cutoff: 0s"),
        ("Every week you get", 'Every <span class="tg-spoiler">week</span> &amp; &#128512; you get'),
        ("Write a script", "<pre><code class=\"language-python\">print('hi')</code></pre> Write a script"),
        ("Halfway there, great pace!", "Halfway there, <a href='https://example.com'>great</a> pace!"),
        ("title: Python in four weeks", "title: Python <4 weeks> & more"),  # titles are escaped when shown
    ],
    ids=["quoted_time", "year_pace", "seconds", "max_idle", "zero_cutoff", "entities", "pre_code", "link", "title"],
)
def test_edge_values_that_work_are_accepted(old: str, new: str) -> None:
    parse_journey(example_with(old, new), "edge.yaml")


def test_validate_turns_a_loader_bug_into_a_line_and_checks_the_other_files(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def load_or_crash(file: str) -> Journey:
        if file == "crash.yaml":
            raise RecursionError("maximum recursion depth exceeded\nin some frame")
        return load_journey(file)

    monkeypatch.setattr("bot.cli.load_journey", load_or_crash)
    assert main(["journey", "validate", "crash.yaml", str(JOURNEYS / "example.en.yaml")]) == 2
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        "crash.yaml:(document):could not be checked (RecursionError: maximum recursion depth exceeded\\nin some "
        "frame): a bug in journeybot, please report it"
    ]
    assert "example.en.yaml: ok" in out

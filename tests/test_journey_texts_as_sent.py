"""A journey that passes validation renders, in every language, into messages Telegram accepts: the checker
judges each text alone, and this checks what render.py builds around it (titles, trackers, answers, wrapping
<b>) with the same parser and Telegram's length limits. No Telegram, no database."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from bot.i18n import Translations
from bot.outbox.messages import Out
from bot.render import Composer
from bot.settings import SHIPPED_JOURNEYS
from journeys.decisions import (
    AnswerRecorded,
    AskQuestion,
    CourseCompleted,
    Decision,
    ProgressReport,
    RewardEarned,
    ShowNudge,
    ShowStep,
    TextRejected,
    TrackAssigned,
    Welcome,
)
from journeys.journey import EnrollmentStatus, Journey, TextProblem
from journeys.loader import JourneyError, parse_journey
from journeys.progress import Progress
from journeys.telegram_html import plain_text

EXAMPLE = SHIPPED_JOURNEYS / "example.en.yaml"
MESSAGE_LIMIT, CAPTION_LIMIT = 4096, 1024  # characters after entities parsing, counted in UTF-16 units
TRANSLATIONS = Translations()


def tricky() -> dict[str, Any]:
    """The example with texts at the edges of what is allowed: every tag, entities, and plain titles full of < & >."""
    document: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    document["welcome"] = "<blockquote expandable>Hi &amp; welcome, {name}!</blockquote> &#128075;"
    document["survey"]["intro"] = '<tg-spoiler>Quick</tg-spoiler> <a href="https://example.com/?a=1&amp;b=2">survey</a>'
    question = document["survey"]["questions"][2]
    question["text"] = 'Your goal? <pre><code class="language-python">if x &lt; 3: pass</code></pre>'
    question["error"] = "<i>Please</i> write &quot;3&quot; characters or more"
    document["stages"][0]["title"] = "Basics <1> & <2>"
    document["stages"][0]["steps"][0]["title"] = "x > y & <b>not bold</b>"
    document["tracks"]["novice"]["title"] = "Step <by> step & more"
    document["tracks"]["novice"]["intro"] = "<u>Underlined</u> <s>struck</s> <b><i>both</i></b>"
    document["completion"] = '<span class="tg-spoiler">Done</span>!'
    document["nudges"][0]["text"] = "<code>print()</code> &gt; nothing"
    document["rewards"][1]["text"] = "<del>old</del> <ins>new</ins>"
    return document


def longest() -> dict[str, Any]:
    """The example with every text at its maximum length."""
    document: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    document["title"] = "T" * 200
    document["welcome"], document["completion"] = "W" * 3000, "C" * 3000
    document["survey"]["intro"] = "I" * 1000
    document["stages"][0]["title"] = "S" * 120
    for stage in document["stages"]:
        for step in stage["steps"]:
            step["title"], step["text"] = "t" * 120, "x" * 3500
    for track in document["tracks"].values():
        track["title"], track["intro"] = "r" * 120, "i" * 1000
    for nudge in document["nudges"]:
        nudge["text"] = "n" * 3000
    for reward in document["rewards"]:
        reward["text"] = "w" * 3000
    question = document["survey"]["questions"][2]
    question["text"], question["error"] = "q" * 1000, "e" * 1000
    question["max_length"] = 4000 - 1000 - 100
    return document


def decisions(journey: Journey) -> list[Decision]:
    spec, now = journey.spec, datetime(2026, 11, 30, 10, tzinfo=UTC)
    questions = journey.questions
    found: list[Decision] = [Welcome(spec.welcome, spec.survey.intro)]
    for i, question in enumerate(questions):
        found.append(AskQuestion(1, i, question, len(questions)))
        longest_answer = "<&>" * (question.max_length // 3)  # a student's own words, escaped when shown
        found.append(AnswerRecorded(i, question, None if question.is_choice else longest_answer, len(questions)))
        found += [TextRejected(question, reason, 3) for reason in TextProblem]
    for track_id, track in spec.tracks.items():
        steps = journey.steps_of(track_id)
        found.append(TrackAssigned(track, now))
        for i, step in enumerate(steps):
            found.append(ShowStep(1, i, step, journey.stage_of(step.id), Progress(i, len(steps))))
        progress = Progress(len(steps) - 1, len(steps))
        found.append(ProgressReport(1, EnrollmentStatus.ACTIVE, progress, steps[-1], None, track))
        found.append(CourseCompleted(spec.completion, Progress(len(steps), len(steps))))
    return found


def messages(journey: Journey, language: str) -> list[Out]:
    composer = Composer(TRANSLATIONS.get(language))
    outs = composer.compose(decisions(journey))
    track_id = next(iter(journey.spec.tracks))
    steps = journey.steps_of(track_id)
    for nudge in journey.spec.nudges:
        outs += composer.compose([ShowNudge(1, nudge, Progress(0, len(steps)), steps[-1], nudge.offer_curator)])
    outs += composer.compose([RewardEarned(reward) for reward in journey.spec.rewards])
    return outs


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@pytest.mark.parametrize("language", TRANSLATIONS.languages)
@pytest.mark.parametrize("make", [tricky, longest])
def test_every_message_of_a_valid_journey_is_html_telegram_accepts(
    make: Callable[[], dict[str, Any]], language: str
) -> None:
    journey = parse_journey(yaml.safe_dump(make(), allow_unicode=True, sort_keys=False), "edge.yaml")
    outs = messages(journey, language)
    assert len(outs) > 20
    for out in outs:
        text, limit = (
            (out.params["text"], MESSAGE_LIMIT) if "text" in out.params else (out.params["caption"], CAPTION_LIMIT)
        )
        assert 0 < utf16(plain_text(text).strip()) <= limit, text[:200]


def test_a_question_whose_longest_answer_cannot_be_shown_with_it_is_refused() -> None:
    # the answered question is edited to show the answer under it: both must fit in one message
    document = longest()
    document["survey"]["questions"][2]["max_length"] = 4000
    with pytest.raises(JourneyError) as caught:
        parse_journey(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "long.yaml")
    assert [str(i) for i in caught.value.issues] == [
        "long.yaml:survey.questions[2].max_length:with the question's 1000 characters, an answer of 4000 would not "
        "fit in one Telegram message: keep both under 3996"
    ]

"""`feedback:` in journey files: the shipped journeys ask for it, and every authoring mistake is one
`file:path:message` line at its place. Pure domain: no Telegram, no database."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import yaml

from bot.settings import SHIPPED_JOURNEYS
from journeys.feedback_questions import FeedbackKind, FeedbackQuestion, question_text
from journeys.loader import JourneyError, load_journey, parse_journey
from journeys.spec import RatingScale

EXAMPLE = SHIPPED_JOURNEYS / "example.en.yaml"
DEFAULT = SHIPPED_JOURNEYS / "online_store.ru.yaml"
NAME = "feedback.yaml"

Document = dict[str, Any]


def example() -> Document:
    document: Document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    return document


def parsed(document: Document) -> Any:
    return parse_journey(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), NAME)


def issues_after(mutate: Callable[[Document], object]) -> list[str]:
    document = example()
    mutate(document)
    with pytest.raises(JourneyError) as caught:
        parsed(document)
    return [str(issue) for issue in caught.value.issues]


def fb(d: Document) -> Document:
    feedback: Document = d["feedback"]
    return feedback


def test_the_store_rates_a_few_lessons_csat_after_opening_nps_twice_and_curators() -> None:
    feedback = load_journey(DEFAULT).spec.feedback
    assert feedback is not None and feedback.lessons is not None and feedback.stages is not None
    assert feedback.lessons.scale is RatingScale.THUMBS
    assert feedback.lessons.steps == ("niche-demand", "unit-economics", "crm-orders", "traffic-ads")
    assert feedback.stages.stages == ("opening",) and feedback.stages.comment
    assert feedback.nps is not None and feedback.nps.at_completion and feedback.nps.later == timedelta(days=30)
    assert feedback.curator is not None and feedback.reminder == timedelta(days=2)
    assert feedback.review_link is not None and feedback.promoter_offer is None


def test_the_example_reads_every_part_with_its_defaults() -> None:
    feedback = load_journey(EXAMPLE).spec.feedback
    assert feedback is not None and feedback.lessons is not None and feedback.nps is not None
    assert (feedback.lessons.steps, feedback.lessons.scale) == ("all", RatingScale.FIVE)
    assert feedback.nps.at_completion and feedback.what_went_wrong is None


def test_a_journey_without_feedback_still_loads() -> None:
    document = example()
    del document["feedback"]
    assert parsed(document).spec.feedback is None


def test_the_readme_snippet_validates_in_the_example() -> None:
    readme = (SHIPPED_JOURNEYS.parent.parent / "README.md").read_text(encoding="utf-8")
    snippet = readme.split("```yaml\nfeedback:\n", 1)[1].split("```", 1)[0]
    document = example()
    document["feedback"] = yaml.safe_load("feedback:\n" + snippet)["feedback"]
    feedback = parsed(document).spec.feedback
    assert feedback is not None and feedback.promoter_offer == "graduate-club"
    assert feedback.lessons is not None and feedback.lessons.scale is RatingScale.THUMBS


def test_placeholders_are_filled_in_and_escaped() -> None:
    document = example()
    document["stages"][0]["title"] = "Q&A <live>"
    fb(document)["curator"]["text"] = "Did {curator} help with {journey}? {not a placeholder}"
    journey = parsed(document)
    csat = FeedbackQuestion(1, FeedbackKind.CSAT, "basics")
    assert question_text(journey, csat) == "How satisfied are you with the stage Q&amp;A &lt;live&gt;?"
    lesson = FeedbackQuestion(1, FeedbackKind.LESSON, "setup")
    assert question_text(journey, lesson) == "How was <b>Install Python</b>?"
    rated = FeedbackQuestion(1, FeedbackKind.CURATOR, "17")
    assert question_text(journey, rated, curator="Ольга <3") == (
        "Did Ольга &lt;3 help with Python in four weeks? {not a placeholder}"
    )
    del fb(document)["nps"], fb(document)["review_link"]
    assert question_text(parsed(document), FeedbackQuestion(1, FeedbackKind.NPS, "completion")) == ""


MISTAKES: dict[str, tuple[Callable[[Document], object], list[str]]] = {
    "nothing_asked": (
        lambda d: d.update(feedback={"reminder": "2d"}),
        ["feedback:ask at least one of lessons, stages, nps, curator"],
    ),
    "unknown_step": (
        lambda d: fb(d)["lessons"].update(steps=["setup", "nope"]),
        ["feedback.lessons.steps[1]:unknown step 'nope'"],
    ),
    "step_twice": (
        lambda d: fb(d)["lessons"].update(steps=["setup", "setup"]),
        ["feedback.lessons.steps[1]:step 'setup' is listed twice"],
    ),
    "no_steps": (
        lambda d: fb(d)["lessons"].update(steps=[]),
        ["feedback.lessons.steps:write all, or a list of at least one id"],
    ),
    "stages_neither_all_nor_a_list": (
        lambda d: fb(d)["stages"].update(stages="basics"),
        ["feedback.stages.stages:write all, or a list of at least one id"],
    ),
    "unknown_stage": (
        lambda d: fb(d)["stages"].update(stages=["advanced"]),
        ["feedback.stages.stages[0]:unknown stage 'advanced'"],
    ),
    "nps_scale_for_a_lesson": (
        lambda d: fb(d)["lessons"].update(scale="0-10"),
        ['feedback.lessons.scale:a lesson is rated "1-5" or thumbs; 0-10 is the NPS scale'],
    ),
    "unknown_scale": (
        lambda d: fb(d)["lessons"].update(scale="stars"),
        ["feedback.lessons.scale:Input should be '1-5', 'thumbs' or '0-10'"],
    ),
    "unknown_placeholder": (
        lambda d: fb(d)["stages"].update(text="How was {step}?"),
        ["feedback.stages.text:unknown placeholder {step}: use {journey}, {stage}"],
    ),
    "placeholder_of_another_question": (
        lambda d: fb(d)["nps"].update(text="Recommend {curator}?"),
        ["feedback.nps.text:unknown placeholder {curator}: use {journey}"],
    ),
    "text_not_html": (
        lambda d: fb(d)["curator"].update(text="<b>Rate us"),
        ["feedback.curator.text:not valid Telegram HTML: <b> is never closed (at character 1)"],
    ),
    "text_missing": (
        lambda d: fb(d)["curator"].pop("text"),
        ["feedback.curator.text:required key is missing"],
    ),
    "nps_never_asked": (
        lambda d: fb(d)["nps"].update(at_completion=False, later=None),
        ["feedback.nps:ask it at_completion, later, or both"],
    ),
    "nps_later_zero": (
        lambda d: fb(d)["nps"].update(later="0d"),
        ["feedback.nps.later:must be longer than 0s"],
    ),
    "reminder_not_a_duration": (
        lambda d: fb(d).update(reminder="soon"),
        ["feedback.reminder:'soon' is not a duration: write it as 90s, 30m, 2h, 3d or 1w"],
    ),
    "comment_text_without_comment": (
        lambda d: fb(d)["stages"].update(comment=False, comment_text="Anything else?"),
        ["feedback.stages.comment_text:a comment text needs comment: true"],
    ),
    "unknown_promoter_offer": (
        lambda d: fb(d).update(promoter_offer="nope"),
        ["feedback.promoter_offer:unknown offer 'nope'"],
    ),
    "promoter_offer_without_nps": (
        lambda d: (fb(d).pop("nps"), fb(d).update(promoter_offer="graduate-club")),
        [
            "feedback.promoter_offer:a promoter offer needs nps: promoters are found by their NPS",
            "feedback.review_link:a review link needs nps: it is offered to promoters",
        ],
    ),
    "review_text_without_link": (
        lambda d: (fb(d).pop("review_link"), fb(d).update(review_text="Tell the world")),
        ["feedback.review_text:a review text needs a review_link"],
    ),
    "review_link_not_web": (
        lambda d: fb(d).update(review_link={"text": "Review", "url": "review me"}),
        ["feedback.review_link.url:'review me' is not a web address: write it as https://host/path, without spaces"],
    ),
    "unknown_key": (
        lambda d: fb(d)["nps"].update(scale="0-10"),
        ["feedback.nps.scale:unknown key"],
    ),
}


@pytest.mark.parametrize("name", MISTAKES)
def test_each_mistake_is_one_line_at_its_place(name: str) -> None:
    mutate, expected = MISTAKES[name]
    assert issues_after(mutate) == [f"{NAME}:{line}" for line in expected]

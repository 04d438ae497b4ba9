"""The reference checks of `feedback:`, as (path, message) pairs like the rest of check_references."""

import re
from collections.abc import Iterator, Set

from journeys.spec import Feedback, JourneySpec

PLACEHOLDER = re.compile(r"\{([^{}\s]*)\}")
# what each question's text may name; the bot fills them in, escaped (journeys/feedback_texts.py)
PLACEHOLDERS: dict[str, frozenset[str]] = {
    "lessons": frozenset({"step", "stage", "journey"}),
    "stages": frozenset({"stage", "journey"}),
    "nps": frozenset({"journey"}),
    "curator": frozenset({"curator", "journey"}),
}


def feedback_issues(spec: JourneySpec, step_ids: Set[str], stage_ids: Set[str]) -> Iterator[tuple[str, str]]:
    feedback = spec.feedback
    if feedback is None:
        return
    if not any((feedback.lessons, feedback.stages, feedback.nps, feedback.curator)):
        yield "feedback", "ask at least one of lessons, stages, nps, curator"
    lessons, stages, nps = feedback.lessons, feedback.stages, feedback.nps
    if lessons is not None and lessons.steps != "all":
        yield from _unknown(lessons.steps, step_ids, "feedback.lessons.steps", "step")
    if stages is not None and stages.stages != "all":
        yield from _unknown(stages.stages, stage_ids, "feedback.stages.stages", "stage")
    if stages is not None and stages.comment_text is not None and not stages.comment:
        yield "feedback.stages.comment_text", "a comment text needs comment: true"
    if nps is not None and not nps.at_completion and nps.later is None:
        yield "feedback.nps", "ask it at_completion, later, or both"
    yield from _placeholder_issues(feedback)
    yield from _promoter_issues(spec, feedback)


def _unknown(ids: tuple[str, ...], known: Set[str], at: str, what: str) -> Iterator[tuple[str, str]]:
    seen: set[str] = set()
    for i, item in enumerate(ids):
        if item not in known:
            yield f"{at}[{i}]", f"unknown {what} {item!r}"
        elif item in seen:
            yield f"{at}[{i}]", f"{what} {item!r} is listed twice"
        seen.add(item)


def _placeholder_issues(feedback: Feedback) -> Iterator[tuple[str, str]]:
    for part, allowed in PLACEHOLDERS.items():
        question = getattr(feedback, part)
        if question is None:
            continue
        for name in PLACEHOLDER.findall(question.text):
            if name not in allowed:
                known = ", ".join(f"{{{n}}}" for n in sorted(allowed))
                yield f"feedback.{part}.text", f"unknown placeholder {{{name}}}: use {known}"


def _promoter_issues(spec: JourneySpec, feedback: Feedback) -> Iterator[tuple[str, str]]:
    promoters_asked = feedback.nps is not None
    if feedback.promoter_offer is not None:
        if feedback.promoter_offer not in {offer.id for offer in spec.offers}:
            yield "feedback.promoter_offer", f"unknown offer {feedback.promoter_offer!r}"
        elif not promoters_asked:
            yield "feedback.promoter_offer", "a promoter offer needs nps: promoters are found by their NPS"
    if feedback.review_link is not None and not promoters_asked:
        yield "feedback.review_link", "a review link needs nps: it is offered to promoters"
    if feedback.review_text is not None and feedback.review_link is None:
        yield "feedback.review_text", "a review text needs a review_link"

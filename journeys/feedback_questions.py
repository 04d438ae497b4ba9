"""What a feedback question is: its kind, what it is about, its scale (which scores count, which are low,
how the buttons are laid out) and its text with the placeholders filled in."""

import html
from dataclasses import dataclass
from enum import StrEnum

from journeys.journey import Journey
from journeys.spec import RatingScale


class FeedbackKind(StrEnum):
    LESSON = "lesson"  # subject: the step id
    CSAT = "csat"  # subject: the stage id
    NPS = "nps"  # subject: an NpsMoment
    CURATOR = "curator"  # subject: the id of the alert or question the curator resolved


class NpsMoment(StrEnum):
    COMPLETION = "completion"
    LATER = "later"


@dataclass(frozen=True)
class FeedbackQuestion:
    """One question of one enrollment: at most one answer each (the stored values; renaming breaks rows)."""

    enrollment_id: int
    kind: FeedbackKind
    subject: str

    @property
    def key(self) -> str:
        """The outbox idempotency key of asking it; its reminder's is key + ":reminder"."""
        return f"feedback:{self.enrollment_id}:{self.kind.value}:{self.subject}"


SCORES: dict[RatingScale, range] = {
    RatingScale.FIVE: range(1, 6),
    RatingScale.THUMBS: range(2),
    RatingScale.NPS: range(11),
}
LOW_AT_MOST: dict[RatingScale, int] = {RatingScale.FIVE: 2, RatingScale.THUMBS: 0, RatingScale.NPS: 6}
PROMOTER_FROM = 9  # NPS 9-10; 7-8 are passives, 0-6 detractors
THUMBS_UP, THUMBS_DOWN = 1, 0


def scale_of(journey: Journey, kind: FeedbackKind) -> RatingScale | None:
    """The scale this journey asks the kind on; None when it no longer asks it (an old button)."""
    feedback = journey.spec.feedback
    if feedback is None:
        return None
    if kind is FeedbackKind.LESSON:
        return feedback.lessons.scale if feedback.lessons is not None else None
    if kind is FeedbackKind.NPS:
        return RatingScale.NPS if feedback.nps is not None else None
    asked = feedback.stages if kind is FeedbackKind.CSAT else feedback.curator
    return RatingScale.FIVE if asked is not None else None


def is_low(scale: RatingScale, score: int) -> bool:
    """A score that asks "What went wrong?" and reaches the curators: 👎, 1-2 of 5, NPS 0-6."""
    return score <= LOW_AT_MOST[scale]


def is_promoter(scale: RatingScale, score: int) -> bool:
    return scale is RatingScale.NPS and score >= PROMOTER_FROM


def keyboard_rows(scale: RatingScale) -> tuple[tuple[int, ...], ...]:
    """The scores as button rows: eleven NPS buttons do not fit one row of a phone screen, six and five do."""
    if scale is RatingScale.NPS:
        return (tuple(range(6)), tuple(range(6, 11)))
    if scale is RatingScale.THUMBS:
        return ((THUMBS_UP, THUMBS_DOWN),)
    return (tuple(SCORES[scale]),)


def score_label(scale: RatingScale, score: int) -> str:
    if scale is RatingScale.THUMBS:
        return "👍" if score == THUMBS_UP else "👎"
    return str(score)


def question_text(journey: Journey, question: FeedbackQuestion, *, curator: str = "") -> str:
    """The question's text from the journey file with its placeholders filled in, escaped for parse_mode HTML
    (a stage called "Q&A <live>" stays text). `curator` is the name of the curator rated. Empty when the
    journey no longer asks this kind."""
    feedback = journey.spec.feedback
    if feedback is None:
        return ""
    values = {"journey": journey.title, "curator": curator}
    text: str | None = None
    if question.kind is FeedbackKind.LESSON and feedback.lessons is not None:
        step = journey.step(question.subject)
        if step is not None:
            values |= {"step": step.title, "stage": journey.stage_of(step.id).title}
        text = feedback.lessons.text
    elif question.kind is FeedbackKind.CSAT and feedback.stages is not None:
        stage = next((s for s in journey.spec.stages if s.id == question.subject), None)
        values["stage"] = stage.title if stage is not None else ""
        text = feedback.stages.text
    elif question.kind is FeedbackKind.NPS and feedback.nps is not None:
        text = feedback.nps.text
    elif question.kind is FeedbackKind.CURATOR and feedback.curator is not None:
        text = feedback.curator.text
    if text is None:
        return ""
    for name, value in values.items():
        text = text.replace(f"{{{name}}}", html.escape(value, quote=False))
    return text

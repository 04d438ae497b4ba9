"""A student's answer to a feedback question, and what follows it: a comment asked for, a feedback alert for
the curators, the review link and the offer for promoters.

One answer per question per enrollment: another score pressed within a day of the first answer changes it
(the bot edits the message to show the chosen score), a press after that or on a stale message changes
nothing and is answered politely with the reason. Pure functions of the FeedbackState the bot loaded; the
bot stores the score (and answered_at on the first answer), records the event (see events.py) with
`feedback_facts`, then applies the follow-up.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from journeys.feedback import FeedbackRecord, FeedbackState
from journeys.feedback_questions import SCORES, FeedbackKind, FeedbackQuestion, is_low, is_promoter, scale_of
from journeys.journey import Journey
from journeys.offers import OfferState, find_offer, open_to
from journeys.spec import Link, RatingScale

CHANGE_WINDOW = timedelta(days=1)  # from the first answer: a press within it changes the score
COMMENT_WINDOW = timedelta(days=1)  # from the first answer: text after it is an ordinary message


class FeedbackRefusal(StrEnum):
    OUT_OF_SCALE = "out_of_scale"  # a score the question's scale does not have (forged button data)
    NEVER_ASKED = "never_asked"  # no such question was asked of this enrollment
    NOT_YOURS = "not_yours"  # the question is another enrollment's (another student's button)
    TOO_LATE = "too_late"  # answered more than a day ago: the answer stands
    STALE = "stale"  # the journey no longer asks it (the file changed since the button was sent)
    UNCHANGED = "unchanged"  # the score already recorded: nothing to change
    NOT_ANSWERED = "not_answered"  # a comment before any score
    ALREADY_COMMENTED = "already_commented"


class CommentAsk(StrEnum):
    WHAT_WENT_WRONG = "what_went_wrong"  # after a low score: feedback.what_went_wrong, or the bot's words
    OPTIONAL = "optional"  # CSAT with comment: true, with a Skip button: stages.comment_text, or the bot's


@dataclass(frozen=True)
class FeedbackAlert:
    """Raised in the student's curator topic, with Take and Resolved like a stall alert; the comment follows."""

    question: FeedbackQuestion
    scale: RatingScale
    score: int
    step: str | None  # a lesson rating's step
    stage: str | None  # the stage of that step, or the stage a CSAT is about
    curator_id: int | None  # a curator rating: the curator rated


@dataclass(frozen=True)
class FollowUp:
    ask_comment: CommentAsk | None = None
    raise_alert: FeedbackAlert | None = None
    update_alert: bool = False  # the question's alert is up: show it the new score
    review_link: Link | None = None  # a promoter: offer the public review (feedback.review_text above it)
    promoter_offer: str | None = None  # a promoter: show this offer if promoter_offer_open says so


@dataclass(frozen=True)
class FeedbackAccepted:
    question: FeedbackQuestion
    score: int
    follow_up: FollowUp


@dataclass(frozen=True)
class FeedbackChanged:
    question: FeedbackQuestion
    score: int
    previous: int
    follow_up: FollowUp


@dataclass(frozen=True)
class FeedbackRefused:
    reason: FeedbackRefusal
    score: int | None = None  # the score recorded, for the polite answer ("you rated it 4")


@dataclass(frozen=True)
class CommentAccepted:
    question: FeedbackQuestion
    to_alert: bool  # the question's feedback alert is up: the comment goes under it too


AnswerDecision = FeedbackAccepted | FeedbackChanged | FeedbackRefused


def answer_feedback(
    journey: Journey, question: FeedbackQuestion, state: FeedbackState, score: int, now: datetime
) -> AnswerDecision:
    checked = _asked(journey, question, state)
    if isinstance(checked, FeedbackRefused):
        return checked
    record, scale = checked
    if score not in SCORES[scale]:
        return FeedbackRefused(FeedbackRefusal.OUT_OF_SCALE, record.score)
    if record.score is None or record.answered_at is None:
        return FeedbackAccepted(question, score, _follow_up(journey, record, scale, score, previous=None))
    if score == record.score:
        return FeedbackRefused(FeedbackRefusal.UNCHANGED, record.score)
    if now - record.answered_at > CHANGE_WINDOW:
        return FeedbackRefused(FeedbackRefusal.TOO_LATE, record.score)
    follow_up = _follow_up(journey, record, scale, score, previous=record.score)
    return FeedbackChanged(question, score, record.score, follow_up)


def comment_feedback(
    journey: Journey, question: FeedbackQuestion, state: FeedbackState, now: datetime
) -> CommentAccepted | FeedbackRefused:
    """Free text the student sent after the bot asked for a comment on this question (any kind of message:
    a photo or a voice message is kept and relayed to the curator like a relay message)."""
    checked = _asked(journey, question, state)
    if isinstance(checked, FeedbackRefused):
        return checked
    record, _ = checked
    if record.answered_at is None:
        return FeedbackRefused(FeedbackRefusal.NOT_ANSWERED)
    if record.commented_at is not None:
        return FeedbackRefused(FeedbackRefusal.ALREADY_COMMENTED, record.score)
    if now - record.answered_at > COMMENT_WINDOW:
        return FeedbackRefused(FeedbackRefusal.TOO_LATE, record.score)
    return CommentAccepted(question, to_alert=record.alerted)


def promoter_offer_open(journey: Journey, state: OfferState, now: datetime) -> str | None:
    """The promoter offer's id when a promoter may be shown it now: an offer is shown once, never after "Not
    now", and only while open to the student (track, holdout, deadline, not bought). The bot shows it like a
    ShowOffer (recorded as shown, counted in the weekly cap)."""
    feedback = journey.spec.feedback
    offer = find_offer(journey, feedback.promoter_offer) if feedback and feedback.promoter_offer else None
    if offer is None or state.blocked or offer.id in state.shown or offer.id in state.dismissed:
        return None
    return offer.id if open_to(journey, offer, state, now) else None


def _asked(
    journey: Journey, question: FeedbackQuestion, state: FeedbackState
) -> tuple[FeedbackRecord, RatingScale] | FeedbackRefused:
    if question.enrollment_id != state.enrollment_id:
        return FeedbackRefused(FeedbackRefusal.NOT_YOURS)
    record = state.record(question)
    if record is None:
        return FeedbackRefused(FeedbackRefusal.NEVER_ASKED)
    scale = scale_of(journey, question.kind)
    if scale is None or not _still_asked(journey, question):
        return FeedbackRefused(FeedbackRefusal.STALE, record.score)
    return record, scale


def _still_asked(journey: Journey, question: FeedbackQuestion) -> bool:
    feedback = journey.spec.feedback
    if feedback is None:
        return False
    if question.kind is FeedbackKind.LESSON and feedback.lessons is not None:
        steps = feedback.lessons.steps
        return journey.step(question.subject) is not None and (steps == "all" or question.subject in steps)
    if question.kind is FeedbackKind.CSAT and feedback.stages is not None:
        stages = feedback.stages.stages
        known = any(stage.id == question.subject for stage in journey.spec.stages)
        return known and (stages == "all" or question.subject in stages)
    return True


def _follow_up(
    journey: Journey, record: FeedbackRecord, scale: RatingScale, score: int, *, previous: int | None
) -> FollowUp:
    feedback = journey.spec.feedback
    assert feedback is not None  # _asked refuses a journey without feedback
    question = record.question
    low, commented = is_low(scale, score), record.commented_at is not None
    ask: CommentAsk | None = None
    alert: FeedbackAlert | None = None
    if low and not record.alerted:
        alert = _alert(journey, record, scale, score)
        ask = None if commented else CommentAsk.WHAT_WENT_WRONG
    elif not low and previous is None and question.kind is FeedbackKind.CSAT:
        ask = CommentAsk.OPTIONAL if feedback.stages is not None and feedback.stages.comment else None
    promoter = is_promoter(scale, score) and (previous is None or not is_promoter(scale, previous))
    return FollowUp(
        ask_comment=ask,
        raise_alert=alert,
        update_alert=record.alerted,
        review_link=feedback.review_link if promoter else None,
        promoter_offer=feedback.promoter_offer if promoter else None,
    )


def _alert(journey: Journey, record: FeedbackRecord, scale: RatingScale, score: int) -> FeedbackAlert:
    step, stage = step_and_stage(journey, record.question)
    return FeedbackAlert(record.question, scale, score, step, stage, record.curator_id)


def step_and_stage(journey: Journey, question: FeedbackQuestion) -> tuple[str | None, str | None]:
    """The step a question is about (a lesson) and its stage, or the stage a CSAT is about."""
    if question.kind is FeedbackKind.CSAT:
        return None, question.subject
    if question.kind is not FeedbackKind.LESSON:
        return None, None
    step = journey.step(question.subject)
    return question.subject, journey.stage_of(step.id).id if step is not None else None


@dataclass(frozen=True)
class FeedbackFacts:
    """What the feedback events carry, so metrics report by journey, track, cohort, step, stage or curator."""

    journey: str
    track: str | None
    cohort: date | None  # the enrollment's cohort start (its local date)
    kind: FeedbackKind
    subject: str
    step: str | None
    stage: str | None
    curator_id: int | None  # the curator rated, or the student's curator (who took their alerts), if any
    score: int | None = None
    previous: int | None = None  # feedback_changed: the score it replaced

    def to_json(self) -> dict[str, Any]:
        # these keys are stored in events.data: renaming one breaks old rows
        return {
            "journey": self.journey,
            "track": self.track,
            "cohort": self.cohort.isoformat() if self.cohort is not None else None,
            "kind": self.kind.value,
            "subject": self.subject,
            "step": self.step,
            "stage": self.stage,
            "curator_id": self.curator_id,
            "score": self.score,
            "previous": self.previous,
        }


def feedback_facts(
    journey: Journey,
    question: FeedbackQuestion,
    *,
    track: str | None,
    cohort: date | None,
    curator_id: int | None,
    score: int | None = None,
    previous: int | None = None,
) -> FeedbackFacts:
    step, stage = step_and_stage(journey, question)
    return FeedbackFacts(
        journey.id, track, cohort, question.kind, question.subject, step, stage, curator_id, score, previous
    )

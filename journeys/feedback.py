"""When a student is asked for feedback: CSAT at the end of a stage, NPS at completion and later, a curator
rating after a resolved alert, and the lesson rating that rides on a Done confirmation.

The rules: at most one feedback message (a question or its reminder) in any 24 hours per student, across
kinds and enrollments; through the outbox at the student's study slot, else outside quiet hours; a stalled
student is not asked (the curator talks first) and a blocked one gets nothing; an unanswered question is
reminded once, `feedback.reminder` after it was asked, then never again; a question (or reminder) that could
not go within ASK_WITHIN of falling due is dropped, so a file that adds `feedback:` does not ask about
stages finished long ago. Lesson ratings are never reminded: they only ride on Done.

Pure functions of plain state. The bot loads a FeedbackState, applies what due_feedback says (an outbox row
keyed by the question's key, due at `at`; a FeedbackRecord with asked_at or reminded_at = `at`; a
feedback_asked or feedback_reminded event), then stores next_feedback_at of the updated state as the
enrollment's indexed due time. Progress, completion, a resolved alert, a stall's end and an unblock change
the state: the bot asks due_feedback again after each of them.
"""

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from journeys.feedback_questions import FeedbackKind, FeedbackQuestion, NpsMoment, keyboard_rows, scale_of
from journeys.journey import EnrollmentStatus, Journey
from journeys.nudges import Delivery
from journeys.spec import Feedback, RatingScale

FEEDBACK_GAP = timedelta(days=1)  # at most one feedback message in any this long, per student
ASK_WITHIN = timedelta(days=7)  # a question not asked by this long after it fell due is dropped
COURSE_RUNS = frozenset({EnrollmentStatus.ACTIVE, EnrollmentStatus.COMPLETED})
_KIND_ORDER = (FeedbackKind.CURATOR, FeedbackKind.CSAT, FeedbackKind.NPS, FeedbackKind.LESSON)


@dataclass(frozen=True)
class FeedbackRecord:
    """A question asked of the enrollment, and what became of it."""

    question: FeedbackQuestion
    asked_at: datetime  # when it was (or is queued to be) sent; a lesson's: with its Done confirmation
    reminded_at: datetime | None = None
    answered_at: datetime | None = None  # the first answer: another press within a day changes it
    score: int | None = None  # the answer as it stands
    commented_at: datetime | None = None
    alerted: bool = False  # a feedback alert was raised for it
    curator_id: int | None = None  # a curator rating: the curator rated (AskRating.curator_id)


@dataclass(frozen=True)
class Resolution:
    """An alert or relayed question of the student that a curator resolved."""

    alert_id: int
    curator_id: int | None  # who resolved it (or took it, when the student's progress resolved it); None: nobody
    resolved_at: datetime
    from_feedback: bool = False  # a feedback alert: its resolution asks for no rating (no loop of ratings)


@dataclass(frozen=True)
class FeedbackState:
    enrollment_id: int
    status: EnrollmentStatus
    track: str | None
    delivery: Delivery
    done_at: Mapping[str, datetime] = field(default_factory=dict)  # step id → when it was done
    completed_at: datetime | None = None
    resolutions: Sequence[Resolution] = ()
    records: Sequence[FeedbackRecord] = ()  # every feedback question of this enrollment
    student_asks: Collection[datetime] = ()  # feedback messages to the student from their other enrollments
    stalled: bool = False
    blocked: bool = False

    def record(self, question: FeedbackQuestion) -> FeedbackRecord | None:
        return next((r for r in self.records if r.question == question), None)


@dataclass(frozen=True)
class AskRating:
    question: FeedbackQuestion
    at: datetime  # the delivery moment: the study slot, or the end of quiet hours
    scale: RatingScale
    curator_id: int | None = None  # a curator rating: the curator rated (their name fills {curator})


@dataclass(frozen=True)
class RemindRating:
    """The one reminder of an unanswered question: the same question and buttons again."""

    question: FeedbackQuestion
    at: datetime
    scale: RatingScale


FeedbackDecision = AskRating | RemindRating


@dataclass(frozen=True)
class RatingKeyboard:
    """Attach this rating under the Done confirmation of the step: record the question as asked then."""

    question: FeedbackQuestion
    scale: RatingScale
    rows: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class _Due:
    decision: FeedbackDecision
    due: datetime


def due_feedback(journey: Journey, state: FeedbackState, now: datetime) -> list[FeedbackDecision]:
    """The feedback message to queue at `now`: none, or one (the day allows no more), the oldest due first."""
    allowed = _allowed_from(state)
    if allowed is not None and allowed > now:
        return []
    for item in _pending(journey, state):
        if item.due <= now <= item.due + ASK_WITHIN:
            at = state.delivery.at(now)
            decision = item.decision
            if isinstance(decision, AskRating):
                return [AskRating(decision.question, at, decision.scale, decision.curator_id)]
            return [RemindRating(decision.question, at, decision.scale)]
    return []


def next_feedback_at(journey: Journey, state: FeedbackState, now: datetime) -> datetime | None:
    """The next moment after `now` a feedback message falls due without anything else happening (a question's
    time, a reminder's delay, the end of the day's gap): the enrollment's indexed due time. None: nothing is
    timed (stalled and blocked students included: their end brings the bot back to due_feedback)."""
    allowed = _allowed_from(state)
    moments = []
    for item in _pending(journey, state):
        moment = max(item.due, allowed) if allowed is not None else item.due
        if moment > now and moment <= item.due + ASK_WITHIN:
            moments.append(moment)
    return min(moments, default=None)


def rating_on_done(journey: Journey, state: FeedbackState, step_id: str, now: datetime) -> RatingKeyboard | None:
    """Whether the Done confirmation of `step_id` (already in state.done_at) carries a rating keyboard.

    Not when the step is not rated, was rated, the student is blocked, or a feedback message went (or is
    queued) within a day either side of `now`; nor when this Done finishes a stage asked by CSAT or the course
    asked by NPS at completion: that question goes instead."""
    feedback = journey.spec.feedback
    lessons = feedback.lessons if feedback is not None else None
    if feedback is None or lessons is None or state.blocked or state.stalled or state.status not in COURSE_RUNS:
        return None
    if lessons.steps != "all" and step_id not in lessons.steps:
        return None
    steps = _track_steps(journey, state)
    if step_id not in steps or step_id not in state.done_at:
        return None
    question = FeedbackQuestion(state.enrollment_id, FeedbackKind.LESSON, step_id)
    if state.record(question) is not None or any(abs(m - now) < FEEDBACK_GAP for m in _sent_moments(state)):
        return None
    if journey.stage_of(step_id).id in _stages_done(journey, state, feedback):
        return None
    nps = feedback.nps
    if nps is not None and nps.at_completion and all(s in state.done_at for s in steps):
        return None
    return RatingKeyboard(question, lessons.scale, keyboard_rows(lessons.scale))


def _sent_moments(state: FeedbackState) -> Iterator[datetime]:
    for record in state.records:
        yield record.asked_at
        if record.reminded_at is not None:
            yield record.reminded_at
    yield from state.student_asks


def _allowed_from(state: FeedbackState) -> datetime | None:
    """The first moment another feedback message may go: a day after the latest (queued ones count)."""
    latest = max(_sent_moments(state), default=None)
    return latest + FEEDBACK_GAP if latest is not None else None


def _track_steps(journey: Journey, state: FeedbackState) -> tuple[str, ...]:
    if state.track is None or not journey.has_track(state.track):
        return ()
    return journey.track(state.track).steps


def _csat_stages(feedback: Feedback) -> frozenset[str] | None:
    """The stage ids asked by CSAT: None when CSAT is off, every stage for "all" (an empty set here)."""
    if feedback.stages is None:
        return None
    return frozenset() if feedback.stages.stages == "all" else frozenset(feedback.stages.stages)


def _stages_done(journey: Journey, state: FeedbackState, feedback: Feedback) -> dict[str, datetime]:
    """The CSAT stages whose every step on the student's track is done, with when the last one was."""
    asked = _csat_stages(feedback)
    if asked is None:
        return {}
    steps = _track_steps(journey, state)
    done: dict[str, datetime] = {}
    for stage in journey.spec.stages:
        if asked and stage.id not in asked:
            continue
        of_stage = [s for s in steps if journey.stage_of(s).id == stage.id]
        if of_stage and all(s in state.done_at for s in of_stage):
            done[stage.id] = max(state.done_at[s] for s in of_stage)
    return done


def _pending(journey: Journey, state: FeedbackState) -> list[_Due]:
    """Every question still to ask and every reminder still to send, oldest first (ties: curator ratings,
    CSAT, NPS)."""
    feedback = journey.spec.feedback
    if feedback is None or state.blocked or state.stalled or state.status is EnrollmentStatus.DROPPED:
        return []
    found: list[_Due] = []

    def ask(kind: FeedbackKind, subject: str, due: datetime, curator_id: int | None = None) -> None:
        question = FeedbackQuestion(state.enrollment_id, kind, subject)
        scale = scale_of(journey, kind)
        if scale is not None and state.record(question) is None:
            found.append(_Due(AskRating(question, due, scale, curator_id), due))

    if state.status in COURSE_RUNS:
        for stage_id, done_at in _stages_done(journey, state, feedback).items():
            ask(FeedbackKind.CSAT, stage_id, done_at)
    nps = feedback.nps
    if nps is not None and state.status is EnrollmentStatus.COMPLETED and state.completed_at is not None:
        if nps.at_completion:
            ask(FeedbackKind.NPS, NpsMoment.COMPLETION.value, state.completed_at)
        if nps.later is not None:
            ask(FeedbackKind.NPS, NpsMoment.LATER.value, state.completed_at + nps.later)
    for resolution in state.resolutions:
        if resolution.curator_id is not None and not resolution.from_feedback:
            ask(FeedbackKind.CURATOR, str(resolution.alert_id), resolution.resolved_at, resolution.curator_id)
    for record in state.records:
        scale = scale_of(journey, record.question.kind)
        if record.question.kind is FeedbackKind.LESSON or scale is None:
            continue
        if record.answered_at is None and record.reminded_at is None:
            due = record.asked_at + feedback.reminder
            found.append(_Due(RemindRating(record.question, due, scale), due))
    return sorted(found, key=lambda item: (item.due, _KIND_ORDER.index(item.decision.question.kind)))

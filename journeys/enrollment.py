"""An enrollment's life, decided on plain data: the one place its status changes.

    ONBOARDING --last survey answer--> WAITING --its cohort starts--> ACTIVE --every step done--> COMPLETED
        `--the fit check: the course does not suit the answers--> NOT_A_FIT

bot/services/student_path.py loads the enrollment into an EnrollmentState, calls one of these functions,
writes back the fields of the state it gets and records the events. A press or a message that does not fit
the enrollment as it is comes back as the Notice the student sees: nothing here raises for it.
"""

from collections.abc import Mapping, Set
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from journeys.cohort import CohortStarts, cohort_starts
from journeys.decisions import (
    AnswerRecorded,
    AskQuestion,
    CourseCard,
    CourseCompleted,
    Decision,
    Notice,
    ProgressReport,
    ShowStep,
    TextRejected,
    UseButtons,
)
from journeys.journey import SKIPPED, EnrollmentStatus, Journey, TextProblem, check_text
from journeys.notices import NoticeKey
from journeys.progress import Progress
from journeys.spec import NotAFit, Question, Step, Track

ONBOARDING, WAITING, ACTIVE, COMPLETED, NOT_A_FIT = (
    EnrollmentStatus.ONBOARDING,
    EnrollmentStatus.WAITING,
    EnrollmentStatus.ACTIVE,
    EnrollmentStatus.COMPLETED,
    EnrollmentStatus.NOT_A_FIT,
)
# the only moves an enrollment makes (nothing on the path drops one; a dropped enrollment is no longer current)
NEXT_STATUS: Mapping[EnrollmentStatus, frozenset[EnrollmentStatus]] = {
    ONBOARDING: frozenset({WAITING, NOT_A_FIT}),
    WAITING: frozenset({ACTIVE}),
    ACTIVE: frozenset({COMPLETED}),
}
# a Done press counts while the course runs, and after it for an old step pressed late
COUNTS_DONE = frozenset({ACTIVE, COMPLETED})


@dataclass(frozen=True)
class EnrollmentState:
    """The columns of an enrollment the path decides on, as plain values."""

    id: int
    status: EnrollmentStatus
    answers: Mapping[str, Any] = field(default_factory=dict)  # question id → stored answer (None: skipped)
    track: str | None = None
    cohort_start: datetime | None = None
    onboarded_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    current_step: str | None = None
    last_progress_at: datetime | None = None
    study_days: str | None = None  # ISO weekdays the student chose, "1,3,5"
    study_time: str | None = None  # "HH:MM" on the student's clock


def _move(state: EnrollmentState, to: EnrollmentStatus, **changes: Any) -> EnrollmentState:
    # callers check the status first and refuse politely: getting here otherwise is a bug in this file
    if to not in NEXT_STATUS.get(state.status, ()):
        raise AssertionError(f"an enrollment cannot go from {state.status} to {to}")
    return replace(state, status=to, **changes)


# --- where the student is --------------------------------------------------------------------------


class Resume(Enum):
    """What picking up the enrollment takes, when it is not simply asking the next question."""

    FINISH_SURVEY = "finish_survey"  # every question answered (the journey lost some since): assign the track
    START_OR_WAIT = "start_or_wait"  # the cohort may have started by now
    CURRENT_STEP = "current_step"
    COMPLETED = "completed"
    NOT_A_FIT = "not_a_fit"  # the fit check's verdict, said again


def _ask(state: EnrollmentState, journey: Journey, question: Question) -> AskQuestion:
    return AskQuestion(state.id, journey.questions.index(question), question, len(journey.questions))


def resume(state: EnrollmentState, journey: Journey) -> AskQuestion | Resume:
    if state.status is ONBOARDING:
        question = journey.next_question(state.answers)
        return Resume.FINISH_SURVEY if question is None else _ask(state, journey, question)
    if state.status is WAITING:
        return Resume.START_OR_WAIT
    if state.status is ACTIVE:
        return Resume.CURRENT_STEP
    if state.status is NOT_A_FIT:
        return Resume.NOT_A_FIT
    return Resume.COMPLETED


# --- the survey ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """An answer the enrollment takes for question `index` (from press_answer or typed_text)."""

    index: int
    value: str | None  # stored; None: skipped
    label: str | None = None  # the chosen option's text, shown instead of its id


def _not_current(state: EnrollmentState, journey: Journey, index: int) -> Notice | None:
    """A press on a question that is not the one being asked: answered already, or from the past."""
    current = journey.next_question(state.answers) if state.status is ONBOARDING else None
    if current is None or journey.questions.index(current) != index:
        return Notice(NoticeKey.ALREADY_ANSWERED)
    return None


def press_answer(state: EnrollmentState, journey: Journey, index: int, option: int | None) -> Answer | Notice:
    """An option button (or Skip, when `option` is None) under survey question `index`."""
    if stale := _not_current(state, journey, index):
        return stale
    question = journey.questions[index]
    if option is None:
        return Answer(index, SKIPPED) if not question.required else Notice(NoticeKey.STALE)
    if not 0 <= option < len(question.options):
        return Notice(NoticeKey.STALE)
    chosen = question.options[option]
    return Answer(index, chosen.id, chosen.text)


def typed_text(state: EnrollmentState, journey: Journey, text: str) -> Answer | Resume | list[Decision]:
    """Free text: the answer to a text question being asked, or else what the student is told instead."""
    if state.status is WAITING:
        return Resume.START_OR_WAIT
    if state.status is not ONBOARDING:
        return [Notice(NoticeKey.FALLBACK)]
    question = journey.next_question(state.answers)
    if question is None:
        return Resume.FINISH_SURVEY
    ask = _ask(state, journey, question)
    if question.is_choice:
        return [UseButtons(question), ask]
    check = check_text(question, text)
    if not check.ok:
        return [TextRejected(question, check.reason or TextProblem.PATTERN, check.limit), ask]
    return Answer(ask.index, text.strip())


@dataclass(frozen=True)
class Answered:
    state: EnrollmentState
    question: Question
    shown: AnswerRecorded
    ask_next: AskQuestion | None  # None: that was the last question, the track is next
    timezone: str | None  # the zone the answer set for the student's clock, if it set one


def record_answer(state: EnrollmentState, journey: Journey, answer: Answer) -> Answered:
    question = journey.questions[answer.index]
    answers = {**state.answers, question.id: answer.value}  # a new dict: JSON columns miss in-place changes
    state = replace(state, answers=answers)
    chosen = question.option(answer.value) if answer.value is not None and question.plan else None
    if chosen is not None and chosen.days:
        state = replace(state, study_days=",".join(map(str, chosen.days)))
    if chosen is not None and chosen.time:
        state = replace(state, study_time=chosen.time.strftime("%H:%M"))
    total = len(journey.questions)
    shown = answer.label if answer.label is not None or answer.value is None else answer.value
    following = journey.next_question(answers)
    if following is not None and journey.early_verdict(answers) is not None:
        following = None  # the fit check: the course does not suit these answers, the rest need not be asked
    return Answered(
        state=state,
        question=question,
        shown=AnswerRecorded(answer.index, question, shown, total),
        ask_next=_ask(state, journey, following) if following is not None else None,
        timezone=chosen.timezone if chosen is not None else None,
    )


# --- the track and the cohort start ----------------------------------------------------------------


@dataclass(frozen=True)
class TrackChosen:
    state: EnrollmentState  # waiting for its cohort, with its track
    track: Track
    later: CohortStarts | None  # None: the cohort starts at once, the steps are open now


@dataclass(frozen=True)
class FitRefused:
    state: EnrollmentState  # not a fit: the survey ends without a track
    verdict: NotAFit


def assign_track(
    state: EnrollmentState, journey: Journey, now: datetime, tz: ZoneInfo
) -> TrackChosen | FitRefused | AskQuestion | Notice:
    """The survey is done: its answers choose the track (or find the course does not suit them), and the
    school's calendar (in `tz`) the start."""
    if state.status is not ONBOARDING:
        return Notice(NoticeKey.ALREADY_ANSWERED)
    question = journey.next_question(state.answers)
    verdict = journey.early_verdict(state.answers)
    if question is not None and verdict is None:
        return _ask(state, journey, question)
    track = verdict or journey.route(state.answers)
    if isinstance(track, NotAFit):
        return FitRefused(_move(state, NOT_A_FIT, onboarded_at=now), track)
    starts = cohort_starts(journey.spec.cohort, now, tz)
    waiting = _move(state, WAITING, track=track, onboarded_at=now, cohort_start=starts.at)
    return TrackChosen(waiting, journey.track(track), None if starts.due(now) else starts)


@dataclass(frozen=True)
class Started:
    state: EnrollmentState  # active since now; the current step is next


def start_if_due(state: EnrollmentState, now: datetime) -> Started | CohortStarts | None:
    """A waiting enrollment starts once its cohort has; until then, when it will. None: it is not waiting."""
    if state.status is not WAITING or state.cohort_start is None:
        return None
    starts = CohortStarts(state.cohort_start)
    return Started(_move(state, ACTIVE, started_at=now)) if starts.due(now) else starts


# --- steps -----------------------------------------------------------------------------------------


def progress_of(state: EnrollmentState, journey: Journey, completed: Set[str]) -> Progress:
    if state.track is None:
        return Progress(0, 0)
    return Progress(journey.done_count(state.track, completed), len(journey.track(state.track).steps))


@dataclass(frozen=True)
class NextStep:
    state: EnrollmentState  # its current step set
    show: ShowStep


@dataclass(frozen=True)
class Finished:
    state: EnrollmentState  # completed
    shown: CourseCompleted


def advance(
    state: EnrollmentState,
    journey: Journey,
    completed: Set[str],
    now: datetime,
    next_stage: CourseCard | None = None,
) -> NextStep | Finished | None:
    """An active enrollment shows its first step not done (in any order), or completes (with the next stage to
    mention, if the catalog has one). None: not active."""
    if state.status is not ACTIVE or state.track is None:
        return None
    step = journey.next_step(state.track, completed)
    if step is None:
        done = _move(state, COMPLETED, completed_at=now, current_step=None)
        shown = CourseCompleted(journey.spec.completion, progress_of(done, journey, completed), next_stage)
        return Finished(done, shown)
    ids = journey.track(state.track).steps
    index = ids.index(step.id)
    show = ShowStep(state.id, index, step, journey.stage_of(step.id), Progress(index + 1, len(ids)))
    return NextStep(replace(state, current_step=step.id), show)


def press_done(state: EnrollmentState, journey: Journey, index: int) -> Step | Notice:
    """The Done button of step `index`: the step to count. Whether it was counted before, the database says."""
    if state.track is None or state.status not in COUNTS_DONE:
        return Notice(NoticeKey.STALE)
    steps = journey.steps_of(state.track)
    return steps[index] if 0 <= index < len(steps) else Notice(NoticeKey.STALE)


@dataclass(frozen=True)
class Counted:
    state: EnrollmentState
    advances: bool  # the course runs: show the next step; before the start the step waits to count later


def count_progress(state: EnrollmentState, now: datetime) -> Counted:
    """A step newly counted, by the bot or the LMS."""
    return Counted(replace(state, last_progress_at=now), state.status is ACTIVE)


# --- reports ---------------------------------------------------------------------------------------


def progress_refused(state: EnrollmentState) -> Notice | None:
    """/progress has nothing to show before the track is chosen, nor after the fit check said no."""
    if state.status is NOT_A_FIT:
        return Notice(NoticeKey.NO_PROGRESS_NOT_A_FIT)
    return Notice(NoticeKey.SURVEY_FIRST) if state.status is ONBOARDING else None


def progress_report(
    state: EnrollmentState, journey: Journey, completed: Set[str], starts_at: datetime | None
) -> ProgressReport:
    """`starts_at`: the cohort start on the student's clock while they wait for it."""
    return ProgressReport(
        enrollment_id=state.id,
        status=state.status,
        progress=progress_of(state, journey, completed),
        next_step=journey.next_step(state.track, completed) if state.track else None,
        starts_at=starts_at,
        track=journey.track(state.track) if state.track else None,
    )

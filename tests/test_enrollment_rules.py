"""An enrollment's life as pure transitions (journeys/enrollment.py): every legal move and every refusal, on
plain data. No database, no bot."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.settings import SHIPPED_JOURNEYS
from journeys import enrollment as rules
from journeys.cohort import CohortStarts
from journeys.decisions import AnswerRecorded, AskQuestion, Decision, Notice, TextRejected, UseButtons
from journeys.enrollment import Answer, EnrollmentState, Resume
from journeys.journey import EnrollmentStatus, Journey, TextProblem
from journeys.loader import load_journey
from journeys.notices import NoticeKey
from journeys.progress import Progress
from journeys.spec import Step

ONBOARDING, WAITING, ACTIVE, COMPLETED, NOT_A_FIT, DROPPED = EnrollmentStatus
EXAMPLE = load_journey(SHIPPED_JOURNEYS / "example.en.yaml")  # cohort: immediate; an optional text question
STORE = load_journey(SHIPPED_JOURNEYS / "online_store.ru.yaml")  # cohort: first Monday; days, time, zone
MSK = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # a Friday; the next first Monday far enough is 7 December
DEC_7 = datetime(2026, 12, 7, 10, 0, tzinfo=MSK)
ALL_STATUSES = list(EnrollmentStatus)


def fresh() -> EnrollmentState:
    return EnrollmentState(id=7, status=ONBOARDING)


def answered_all(journey: Journey) -> EnrollmentState:
    return replace(fresh(), answers={q.id: q.options[0].id if q.options else "my own words" for q in journey.questions})


def waiting(journey: Journey = STORE, starts: datetime = DEC_7) -> EnrollmentState:
    return replace(answered_all(journey), status=WAITING, track="novice", cohort_start=starts, onboarded_at=NOW)


def active(journey: Journey = EXAMPLE, track: str = "novice") -> EnrollmentState:
    return replace(answered_all(journey), status=ACTIVE, track=track, cohort_start=NOW, started_at=NOW)


def in_status(status: EnrollmentStatus) -> EnrollmentState:
    if status is ONBOARDING:
        return fresh()
    if status is WAITING:
        return waiting(EXAMPLE)
    return replace(active(), status=status)


# --- the transition table ------------------------------------------------------------------------


def test_the_status_only_moves_forward_one_step_at_a_time() -> None:
    assert dict(rules.NEXT_STATUS) == {
        ONBOARDING: {WAITING, NOT_A_FIT},
        WAITING: {ACTIVE},
        ACTIVE: {COMPLETED},
    }
    assert not {COMPLETED, NOT_A_FIT, DROPPED} & set(rules.NEXT_STATUS)  # where an enrollment ends


# --- where the student is --------------------------------------------------------------------------


def test_resume_asks_the_first_unanswered_question() -> None:
    state = replace(fresh(), answers={"experience": "none"})
    assert rules.resume(state, EXAMPLE) == AskQuestion(7, 1, EXAMPLE.questions[1], 4)


@pytest.mark.parametrize(
    ("state", "next_move"),
    [
        (answered_all(EXAMPLE), Resume.FINISH_SURVEY),
        (waiting(), Resume.START_OR_WAIT),
        (active(), Resume.CURRENT_STEP),
        (replace(active(), status=COMPLETED), Resume.COMPLETED),
        (replace(active(), status=DROPPED), Resume.COMPLETED),  # shown what they did, as before
    ],
)
def test_resume_names_the_next_move(state: EnrollmentState, next_move: Resume) -> None:
    assert rules.resume(state, EXAMPLE) is next_move


# --- survey presses ----------------------------------------------------------------------------------


def test_an_option_of_the_current_question_is_taken_with_its_label() -> None:
    assert rules.press_answer(fresh(), EXAMPLE, 0, 2) == Answer(0, "pro", "Yes, it is my job")


def test_skip_is_taken_only_for_an_optional_question() -> None:
    at_goal = replace(fresh(), answers={"experience": "none", "level": "beginner"})
    assert rules.press_answer(at_goal, EXAMPLE, 2, None) == Answer(2, None)
    assert rules.press_answer(fresh(), EXAMPLE, 0, None) == Notice(NoticeKey.STALE)


@pytest.mark.parametrize("option", [-1, 3, 99])
def test_an_option_that_does_not_exist_is_stale(option: int) -> None:
    assert rules.press_answer(fresh(), EXAMPLE, 0, option) == Notice(NoticeKey.STALE)


@pytest.mark.parametrize("index", [-1, 1, 3, 4, 50])
def test_a_button_under_another_question_was_answered_already(index: int) -> None:
    assert rules.press_answer(fresh(), EXAMPLE, index, 0) == Notice(NoticeKey.ALREADY_ANSWERED)


@pytest.mark.parametrize("status", [WAITING, ACTIVE, COMPLETED, DROPPED])
def test_survey_buttons_after_the_survey_were_answered_already(status: EnrollmentStatus) -> None:
    state = in_status(status)
    for index in range(len(EXAMPLE.questions)):
        assert rules.press_answer(state, EXAMPLE, index, 0) == Notice(NoticeKey.ALREADY_ANSWERED)
        assert rules.press_answer(state, EXAMPLE, index, None) == Notice(NoticeKey.ALREADY_ANSWERED)


# --- typed text ----------------------------------------------------------------------------------------

AT_GOAL = replace(fresh(), answers={"experience": "none", "level": "beginner"})


def test_text_answers_a_text_question_trimmed() -> None:
    assert rules.typed_text(AT_GOAL, EXAMPLE, "  A bot for my bakery \n") == Answer(2, "A bot for my bakery")


@pytest.mark.parametrize(
    ("text", "problem", "limit"),
    [("ab", TextProblem.TOO_SHORT, 3), ("  ab  ", TextProblem.TOO_SHORT, 3), ("x" * 201, TextProblem.TOO_LONG, 200)],
)
def test_text_that_does_not_fit_is_refused_and_the_question_asked_again(
    text: str, problem: TextProblem, limit: int
) -> None:
    goal = EXAMPLE.questions[2]
    assert rules.typed_text(AT_GOAL, EXAMPLE, text) == [TextRejected(goal, problem, limit), AskQuestion(7, 2, goal, 4)]


def test_text_where_a_button_is_expected_points_to_the_buttons() -> None:
    question = EXAMPLE.questions[0]
    assert rules.typed_text(fresh(), EXAMPLE, "Never") == [UseButtons(question), AskQuestion(7, 0, question, 4)]


def test_text_while_waiting_resumes_and_otherwise_gets_the_fallback() -> None:
    assert rules.typed_text(waiting(), EXAMPLE, "hello") is Resume.START_OR_WAIT
    assert rules.typed_text(answered_all(EXAMPLE), EXAMPLE, "hello") is Resume.FINISH_SURVEY
    for status in (ACTIVE, COMPLETED, DROPPED):
        assert rules.typed_text(in_status(status), EXAMPLE, "hello") == [Notice(NoticeKey.FALLBACK)]


# --- recording answers -----------------------------------------------------------------------------


def test_an_answer_is_stored_in_a_new_mapping_and_the_next_question_asked() -> None:
    before = fresh()
    answered = rules.record_answer(before, EXAMPLE, Answer(0, "pro", "Yes, it is my job"))
    assert before.answers == {}  # the old state is untouched
    assert answered.state.answers == {"experience": "pro"} and answered.state.status is ONBOARDING
    assert answered.shown == AnswerRecorded(0, EXAMPLE.questions[0], "Yes, it is my job", 4)
    assert answered.ask_next == AskQuestion(7, 1, EXAMPLE.questions[1], 4)
    assert answered.timezone is None


def test_a_skipped_answer_is_stored_as_none_and_shown_as_skipped() -> None:
    answered = rules.record_answer(AT_GOAL, EXAMPLE, Answer(2, None))
    assert answered.state.answers["goal"] is None
    assert answered.shown.answer is None


def test_a_typed_answer_is_shown_as_typed() -> None:
    answered = rules.record_answer(AT_GOAL, EXAMPLE, Answer(2, "<b>bakery</b>"))
    assert answered.shown.answer == "<b>bakery</b>"  # escaped where it is rendered


def test_the_last_answer_asks_nothing_more() -> None:
    almost = replace(fresh(), answers={"experience": "none", "level": "beginner", "goal": None})
    answered = rules.record_answer(almost, EXAMPLE, Answer(3, "first", "This is my first time"))
    assert answered.ask_next is None
    assert answered.state.status is ONBOARDING  # the track is assigned next, by its own transition


def test_plan_answers_set_the_study_days_time_and_the_students_clock() -> None:
    questions = {q.id: i for i, q in enumerate(STORE.questions)}
    state = replace(fresh(), answers={q.id: "x" for q in STORE.questions[: questions["study_days"]]})
    days = rules.record_answer(state, STORE, Answer(questions["study_days"], "weekends"))
    assert days.state.study_days == "6,7"
    time = rules.record_answer(days.state, STORE, Answer(questions["study_time"], "evening"))
    assert (time.state.study_days, time.state.study_time) == ("6,7", "19:00")
    zone = rules.record_answer(time.state, STORE, Answer(questions["timezone"], "vladivostok"))
    assert zone.timezone == "Asia/Vladivostok"
    assert zone.state.study_time == "19:00"


# --- the track and the cohort start ------------------------------------------------------------------


def test_the_last_answer_assigns_the_routed_track_and_the_next_cohort() -> None:
    state = replace(answered_all(STORE), answers={**answered_all(STORE).answers, "experience": "own_shop"})
    state = replace(state, answers={**state.answers, "level": "confident"})
    chosen = rules.assign_track(state, STORE, NOW, MSK)
    assert isinstance(chosen, rules.TrackChosen)
    assert chosen.track == STORE.track("advanced")
    assert chosen.later == CohortStarts(DEC_7)
    assert chosen.state == replace(state, status=WAITING, track="advanced", onboarded_at=NOW, cohort_start=DEC_7)


def test_an_immediate_cohort_opens_the_steps_at_once() -> None:
    chosen = rules.assign_track(answered_all(EXAMPLE), EXAMPLE, NOW, MSK)
    assert isinstance(chosen, rules.TrackChosen)
    assert chosen.later is None
    assert (chosen.state.status, chosen.state.track, chosen.state.cohort_start) == (WAITING, "novice", NOW)


def test_no_track_while_questions_are_left() -> None:
    assert rules.assign_track(fresh(), EXAMPLE, NOW, MSK) == AskQuestion(7, 0, EXAMPLE.questions[0], 4)


@pytest.mark.parametrize("status", [WAITING, ACTIVE, COMPLETED, DROPPED])
def test_no_second_track(status: EnrollmentStatus) -> None:
    assert rules.assign_track(in_status(status), EXAMPLE, NOW, MSK) == Notice(NoticeKey.ALREADY_ANSWERED)


def test_a_waiting_enrollment_starts_at_its_cohort_start_not_a_moment_before() -> None:
    state = waiting()
    assert rules.start_if_due(state, DEC_7 - timedelta(microseconds=1)) == CohortStarts(DEC_7)
    started = rules.start_if_due(state, DEC_7)
    assert started == rules.Started(replace(state, status=ACTIVE, started_at=DEC_7))
    late = DEC_7 + timedelta(days=3)  # the ticker was down: the start is when it happened, not when planned
    assert rules.start_if_due(state, late) == rules.Started(replace(state, status=ACTIVE, started_at=late))


@pytest.mark.parametrize("status", [ONBOARDING, ACTIVE, COMPLETED, DROPPED])
def test_only_a_waiting_enrollment_starts(status: EnrollmentStatus) -> None:
    assert rules.start_if_due(replace(in_status(status), cohort_start=NOW), NOW + timedelta(days=30)) is None


# --- steps -------------------------------------------------------------------------------------------


def test_the_first_step_not_done_is_shown_in_any_order() -> None:
    moved = rules.advance(active(), EXAMPLE, {"how-it-works", "variables"}, NOW)
    assert isinstance(moved, rules.NextStep)
    assert moved.state == replace(active(), current_step="setup")
    assert (moved.show.enrollment_id, moved.show.index, moved.show.step.id) == (7, 1, "setup")
    assert moved.show.progress == Progress(2, 5)  # its position, «Step 2 of 5»
    assert moved.show.stage == EXAMPLE.stage_of("setup")


def test_every_step_done_completes_the_course() -> None:
    state = replace(active(track="advanced"), current_step="project")
    moved = rules.advance(state, EXAMPLE, {"functions", "project", "setup"}, NOW)
    assert isinstance(moved, rules.Finished)
    assert moved.state == replace(state, status=COMPLETED, completed_at=NOW, current_step=None)
    assert (moved.shown.text, moved.shown.progress) == (EXAMPLE.spec.completion, Progress(2, 2))


@pytest.mark.parametrize("status", [ONBOARDING, WAITING, COMPLETED, DROPPED])
def test_only_an_active_course_advances(status: EnrollmentStatus) -> None:
    assert rules.advance(in_status(status), EXAMPLE, set(), NOW) is None


@pytest.mark.parametrize("status", [ACTIVE, COMPLETED])
def test_done_counts_a_step_of_the_track(status: EnrollmentStatus) -> None:
    assert rules.press_done(in_status(status), EXAMPLE, 4) == EXAMPLE.step("project")


@pytest.mark.parametrize("index", [-1, 5, 100])
def test_done_under_a_step_outside_the_track_is_stale(index: int) -> None:
    assert rules.press_done(active(), EXAMPLE, index) == Notice(NoticeKey.STALE)


@pytest.mark.parametrize("status", [ONBOARDING, WAITING, DROPPED])
def test_done_before_the_start_or_after_dropping_is_stale(status: EnrollmentStatus) -> None:
    assert rules.press_done(in_status(status), EXAMPLE, 0) == Notice(NoticeKey.STALE)


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_counted_progress_is_noted_and_moves_on_only_while_active(status: EnrollmentStatus) -> None:
    counted = rules.count_progress(in_status(status), NOW)
    assert counted.state == replace(in_status(status), last_progress_at=NOW)
    assert counted.advances is (status is ACTIVE)


# --- reports -----------------------------------------------------------------------------------------


def test_progress_waits_for_the_survey_and_has_nothing_for_a_course_that_does_not_fit() -> None:
    assert rules.progress_refused(fresh()) == Notice(NoticeKey.SURVEY_FIRST)
    assert rules.progress_refused(in_status(NOT_A_FIT)) == Notice(NoticeKey.NO_PROGRESS_NOT_A_FIT)
    shown = [s for s in ALL_STATUSES if s not in (ONBOARDING, NOT_A_FIT)]
    assert all(rules.progress_refused(in_status(s)) is None for s in shown)


def test_the_progress_report() -> None:
    report = rules.progress_report(active(), EXAMPLE, {"how-it-works"}, None)
    assert (report.enrollment_id, report.status, report.progress) == (7, ACTIVE, Progress(1, 5))
    assert report.next_step == EXAMPLE.step("setup") and report.track == EXAMPLE.track("novice")
    shown = DEC_7.astimezone(ZoneInfo("Asia/Vladivostok"))
    report = rules.progress_report(waiting(EXAMPLE), EXAMPLE, set(), shown)
    assert (report.status, report.starts_at, report.progress) == (WAITING, shown, Progress(0, 5))
    done = rules.progress_report(
        replace(active(track="advanced"), status=COMPLETED), EXAMPLE, {"functions", "project"}, None
    )
    assert (done.next_step, done.progress) == (None, Progress(2, 2))


# --- properties: any sequence of presses, messages, LMS reports and ticks ----------------------------------


class Walk:
    """Drives the transitions the way StudentPath chains them, checking each move against the table."""

    def __init__(self, journey: Journey) -> None:
        self.journey, self.state, self.now, self.done = journey, fresh(), NOW, set[str]()
        self.seen = {ONBOARDING}

    def take(self, after: EnrollmentState) -> None:
        before, self.state = self.state, after
        assert after.status is before.status or after.status in rules.NEXT_STATUS.get(before.status, ())
        assert after.id == before.id
        self.seen.add(after.status)

    def settle(self) -> None:
        """What follows an answer or a tick: the track once the survey is done, the start once due, the step."""
        if rules.resume(self.state, self.journey) is Resume.FINISH_SURVEY:
            chosen = rules.assign_track(self.state, self.journey, self.now, MSK)
            assert isinstance(chosen, rules.TrackChosen)
            assert chosen.state.cohort_start is not None
            assert (chosen.later is None) is (chosen.state.cohort_start <= self.now)
            self.take(chosen.state)
        started = rules.start_if_due(self.state, self.now)
        if isinstance(started, CohortStarts):
            assert self.state.status is WAITING and started.at > self.now
        elif isinstance(started, rules.Started):
            self.take(started.state)
            self.advance()

    def advance(self) -> None:
        moved = rules.advance(self.state, self.journey, self.done, self.now)
        assert moved is not None
        self.take(moved.state)
        if isinstance(moved, rules.Finished):
            assert moved.shown.progress.done == moved.shown.progress.total

    def answer(self, taken: Answer | Notice | Resume | list[Decision]) -> None:
        if isinstance(taken, Answer):
            self.take(rules.record_answer(self.state, self.journey, taken).state)
        self.settle()

    def step(self, step: Step) -> None:
        if step.id in self.done:
            return  # the database refuses a second count
        self.done.add(step.id)
        counted = rules.count_progress(self.state, self.now)
        self.take(counted.state)
        if counted.advances:
            self.advance()


actions = st.lists(
    st.one_of(
        st.tuples(st.just("answer"), st.integers(0, 7)),  # a valid answer to the question being asked
        st.tuples(st.just("press"), st.tuples(st.integers(-1, 9), st.one_of(st.none(), st.integers(-1, 7)))),
        st.tuples(st.just("text"), st.sampled_from(["", "ab", "my own words", "x" * 400, "Never"])),
        st.tuples(st.just("tick"), st.integers(0, 60 * 24 * 60)),  # minutes
        st.tuples(st.just("done"), st.integers(-1, 9)),
        st.tuples(st.just("done"), st.just("shown")),  # Done under the step being shown
        st.tuples(st.just("lms"), st.integers(0, 8)),  # the LMS reports a step, at any time
    ),
    max_size=60,
)


def check_invariants(state: EnrollmentState, journey: Journey) -> None:
    if state.status is not ONBOARDING:
        assert journey.next_question(state.answers) is None
        assert state.track is not None and journey.has_track(state.track)
        assert state.cohort_start is not None and state.onboarded_at is not None
    else:
        assert state.track is None and state.cohort_start is None
    if state.status in (ACTIVE, COMPLETED):
        assert state.started_at is not None and state.cohort_start is not None
        assert state.started_at >= state.cohort_start
    if state.status is ACTIVE:
        assert state.current_step is not None
    if state.status is COMPLETED:
        assert state.completed_at is not None and state.current_step is None
    assert set(state.answers) <= {q.id for q in journey.questions}


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([EXAMPLE, STORE]), st.integers(0, 10), actions)
def test_any_sequence_moves_along_the_table_and_keeps_the_enrollment_consistent(
    journey: Journey, answered: int, steps: list[tuple[str, Any]]
) -> None:
    walk = Walk(journey)
    # a student who answers some questions first (random presses rarely hit the current one), then anything
    for kind, arg in [("answer", n) for n in range(answered)] + steps:
        state = walk.state
        if kind == "answer":
            ask = rules.resume(state, journey)
            if isinstance(ask, AskQuestion):
                question = ask.question
                if question.is_choice:
                    walk.answer(rules.press_answer(state, journey, ask.index, arg % len(question.options)))
                else:
                    walk.answer(rules.typed_text(state, journey, "my own words"))
        elif kind == "press":
            walk.answer(rules.press_answer(state, journey, *arg))
        elif kind == "text":
            walk.answer(rules.typed_text(state, journey, arg))
        elif kind == "tick":
            walk.now += timedelta(minutes=arg)
            walk.settle()
        elif kind == "done":
            shown = journey.next_step(state.track, walk.done) if state.track else None
            index = journey.steps_of(state.track).index(shown) if arg == "shown" and state.track and shown else arg
            pressed = rules.press_done(state, journey, -1 if index == "shown" else index)
            if not isinstance(pressed, Notice):
                walk.step(pressed)
        else:
            lms = [step for stage in journey.spec.stages for step in stage.steps]
            walk.step(lms[arg % len(lms)])
        check_invariants(walk.state, journey)


@pytest.mark.parametrize("journey", [EXAMPLE, STORE], ids=["immediate", "first-monday"])
def test_a_whole_life_from_the_first_answer_to_the_last_step(journey: Journey) -> None:
    walk = Walk(journey)
    while isinstance(ask := rules.resume(walk.state, journey), AskQuestion):
        typed = rules.typed_text(walk.state, journey, "my own words")
        walk.answer(typed if isinstance(typed, Answer) else rules.press_answer(walk.state, journey, ask.index, 0))
    walk.now += timedelta(days=40)  # past any first-Monday start
    walk.settle()
    assert walk.state.status is ACTIVE
    while walk.state.status is ACTIVE:
        assert walk.state.track is not None
        shown = journey.next_step(walk.state.track, walk.done)
        assert shown is not None and shown.id == walk.state.current_step
        walk.step(shown)
    assert walk.seen == {ONBOARDING, WAITING, ACTIVE, COMPLETED}
    assert walk.state.completed_at == walk.now

"""When a student is asked for feedback, what their answers lead to, and the report arithmetic
(journeys/feedback.py, feedback_answers.py, feedback_questions.py, feedback_stats.py), on plain data."""

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.settings import SHIPPED_JOURNEYS
from journeys.feedback import (
    ASK_WITHIN,
    AskRating,
    FeedbackDecision,
    FeedbackRecord,
    FeedbackState,
    RemindRating,
    Resolution,
    due_feedback,
    next_feedback_at,
    rating_on_done,
)
from journeys.feedback_answers import (
    CommentAccepted,
    CommentAsk,
    FeedbackAccepted,
    FeedbackChanged,
    FeedbackRefusal,
    FeedbackRefused,
    answer_feedback,
    comment_feedback,
    feedback_facts,
    promoter_offer_open,
)
from journeys.feedback_questions import FeedbackKind, FeedbackQuestion, keyboard_rows, score_label
from journeys.feedback_stats import Average, NpsSplit, average, averages_by, csat, nps_split
from journeys.journey import EnrollmentStatus, Journey
from journeys.loader import load_journey, parse_journey
from journeys.nudges import Delivery
from journeys.offers import OfferState
from journeys.spec import RatingScale
from journeys.timing import QuietHours

PLAIN = settings(max_examples=100, deadline=None, derandomize=True, database=None)
MSK = ZoneInfo("Europe/Moscow")
NIGHT = QuietHours(time(22), time(9))
NOW = datetime(2026, 11, 10, 12, tzinfo=MSK)  # a Tuesday noon: outside quiet hours
DAY, HOUR = timedelta(days=1), timedelta(hours=1)
ACTIVE, COMPLETED = EnrollmentStatus.ACTIVE, EnrollmentStatus.COMPLETED
BASICS = ("how-it-works", "setup", "variables")  # the example's first stage; then practice: functions, project
NOVICE = (*BASICS, "functions", "project")
EXAMPLE = load_journey(SHIPPED_JOURNEYS / "example.en.yaml")  # lessons: all, 1-5; CSAT: basics; NPS now and 30d
FIVE, THUMBS, NPS = RatingScale.FIVE, RatingScale.THUMBS, RatingScale.NPS

Document = dict[str, Any]


def journey_with(**feedback: Any) -> Journey:
    document = yaml.safe_load((SHIPPED_JOURNEYS / "example.en.yaml").read_text(encoding="utf-8"))
    document["feedback"].update(feedback)
    return parse_journey(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "feedback.yaml")


def q(kind: FeedbackKind, subject: str, enrollment_id: int = 1) -> FeedbackQuestion:
    return FeedbackQuestion(enrollment_id, kind, subject)


CSAT_BASICS = q(FeedbackKind.CSAT, "basics")
NPS_NOW, NPS_LATER = q(FeedbackKind.NPS, "completion"), q(FeedbackKind.NPS, "later")


def state(**changes: Any) -> FeedbackState:
    start = FeedbackState(enrollment_id=1, status=ACTIVE, track="novice", delivery=Delivery(MSK, NIGHT))
    return replace(start, **changes)


def done(*steps: str, at: datetime = NOW) -> dict[str, datetime]:
    return dict.fromkeys(steps, at)


def basics_done(**changes: Any) -> FeedbackState:
    return state(**{"done_at": done(*BASICS)} | changes)


def graduate(**changes: Any) -> FeedbackState:
    return state(**{"status": COMPLETED, "done_at": done(*NOVICE), "completed_at": NOW} | changes)


def asked(question: FeedbackQuestion, at: datetime, **changes: Any) -> FeedbackRecord:
    return replace(FeedbackRecord(question, at), **changes)


def answered(question: FeedbackQuestion, score: int, at: datetime = NOW, **changes: Any) -> FeedbackRecord:
    return asked(question, at - HOUR, answered_at=at, score=score, **changes)


# --- what is asked, and when -------------------------------------------------------------------------


def test_csat_is_asked_once_every_step_of_the_stage_on_the_track_is_done() -> None:
    assert due_feedback(EXAMPLE, state(done_at=done("how-it-works", "setup")), NOW) == []
    assert due_feedback(EXAMPLE, basics_done(), NOW) == [AskRating(CSAT_BASICS, NOW, FIVE)]
    # the advanced track has no step of the basics stage: it never finishes it
    assert due_feedback(EXAMPLE, state(track="advanced", done_at=done(*NOVICE)), NOW) == []
    # only the stages the file lists: practice done asks nothing
    assert due_feedback(EXAMPLE, state(done_at=done("functions", "project")), NOW) == []


def test_csat_of_every_stage_with_stages_all() -> None:
    journey = journey_with(stages={"stages": "all", "text": "How was {stage}?"})
    practice = state(track="advanced", done_at=done("functions", "project"))
    assert due_feedback(journey, practice, NOW) == [AskRating(q(FeedbackKind.CSAT, "practice"), NOW, FIVE)]


def test_a_question_due_in_quiet_hours_waits_for_the_morning() -> None:
    night = NOW.replace(hour=23)
    (ask,) = due_feedback(EXAMPLE, basics_done(), night)
    assert ask.at == datetime(2026, 11, 11, 9, tzinfo=MSK)


def test_a_question_comes_at_the_students_study_hour() -> None:
    planned = Delivery(MSK, NIGHT, study_days=frozenset({1, 2, 3, 4, 5}), study_time=time(19))
    (ask,) = due_feedback(EXAMPLE, basics_done(delivery=planned), NOW)
    assert ask.at == NOW.replace(hour=19)


def test_never_more_than_one_feedback_message_a_day_across_kinds() -> None:
    lesson_today = asked(q(FeedbackKind.LESSON, "setup"), NOW - 3 * HOUR, answered_at=NOW, score=4)
    waiting = basics_done(records=(lesson_today,))
    assert due_feedback(EXAMPLE, waiting, NOW) == []
    assert next_feedback_at(EXAMPLE, waiting, NOW) == NOW + 21 * HOUR
    assert due_feedback(EXAMPLE, waiting, NOW + 21 * HOUR) == [AskRating(CSAT_BASICS, NOW + 21 * HOUR, FIVE)]


def test_the_day_counts_questions_from_the_students_other_courses_and_queued_ones() -> None:
    other_course = basics_done(student_asks=(NOW - 2 * HOUR,))
    assert due_feedback(EXAMPLE, other_course, NOW) == []
    assert next_feedback_at(EXAMPLE, other_course, NOW) == NOW + 22 * HOUR
    # a question queued for tomorrow morning holds the next one a day after it, not after now
    queued = graduate(records=(asked(CSAT_BASICS, NOW + 21 * HOUR),))
    assert due_feedback(EXAMPLE, queued, NOW + 22 * HOUR) == []
    assert next_feedback_at(EXAMPLE, queued, NOW) == NOW + 45 * HOUR


def test_one_question_at_a_time_the_oldest_first() -> None:
    both = graduate(done_at=done(*BASICS, at=NOW - 2 * DAY) | done("functions", "project"))
    assert due_feedback(EXAMPLE, both, NOW) == [AskRating(CSAT_BASICS, NOW, FIVE)]
    after = replace(both, records=(asked(CSAT_BASICS, NOW, answered_at=NOW, score=5),))
    assert due_feedback(EXAMPLE, after, NOW + DAY) == [AskRating(NPS_NOW, NOW + DAY, NPS)]


@pytest.mark.parametrize(
    "who",
    [basics_done(stalled=True), basics_done(blocked=True), basics_done(status=EnrollmentStatus.DROPPED)],
    ids=["stalled", "blocked", "dropped"],
)
def test_stalled_blocked_and_dropped_students_are_not_asked(who: FeedbackState) -> None:
    assert due_feedback(EXAMPLE, who, NOW) == []
    assert next_feedback_at(EXAMPLE, who, NOW) is None
    reminder_due = replace(who, records=(asked(CSAT_BASICS, NOW - 3 * DAY),))
    assert due_feedback(EXAMPLE, reminder_due, NOW) == []


def test_a_stalled_student_is_asked_once_the_stall_ends() -> None:
    assert due_feedback(EXAMPLE, basics_done(stalled=True), NOW + DAY) == []
    assert due_feedback(EXAMPLE, basics_done(), NOW + DAY) == [AskRating(CSAT_BASICS, NOW + DAY, FIVE)]


def test_one_reminder_after_the_delay_then_never_again() -> None:
    unanswered = basics_done(records=(asked(CSAT_BASICS, NOW),))
    assert due_feedback(EXAMPLE, unanswered, NOW + 2 * DAY - HOUR) == []
    assert next_feedback_at(EXAMPLE, unanswered, NOW) == NOW + 2 * DAY
    assert due_feedback(EXAMPLE, unanswered, NOW + 2 * DAY) == [RemindRating(CSAT_BASICS, NOW + 2 * DAY, FIVE)]
    reminded = basics_done(records=(asked(CSAT_BASICS, NOW, reminded_at=NOW + 2 * DAY),))
    for later in (3, 10, 60):
        assert due_feedback(EXAMPLE, reminded, NOW + later * DAY) == []
    assert next_feedback_at(EXAMPLE, reminded, NOW + 2 * DAY) is None


def test_an_answered_question_and_a_lesson_rating_get_no_reminder() -> None:
    answered_csat = basics_done(records=(answered(CSAT_BASICS, 4),))
    assert due_feedback(EXAMPLE, answered_csat, NOW + 3 * DAY) == []
    lesson = state(done_at=done("setup"), records=(asked(q(FeedbackKind.LESSON, "setup"), NOW),))
    assert due_feedback(EXAMPLE, lesson, NOW + 3 * DAY) == []
    assert next_feedback_at(EXAMPLE, lesson, NOW) is None


def test_the_reminder_uses_the_configured_delay() -> None:
    journey = journey_with(reminder="5d")
    unanswered = basics_done(records=(asked(CSAT_BASICS, NOW),))
    assert due_feedback(journey, unanswered, NOW + 4 * DAY) == []
    assert due_feedback(journey, unanswered, NOW + 5 * DAY) == [RemindRating(CSAT_BASICS, NOW + 5 * DAY, FIVE)]


def test_a_question_that_could_not_go_within_a_week_is_dropped() -> None:
    # a file that adds feedback: later does not ask about a stage finished long ago
    long_ago = state(done_at=done(*BASICS, at=NOW - ASK_WITHIN - HOUR))
    assert due_feedback(EXAMPLE, long_ago, NOW) == []
    assert next_feedback_at(EXAMPLE, long_ago, NOW) is None
    forgotten = basics_done(records=(asked(CSAT_BASICS, NOW - 2 * DAY - ASK_WITHIN - HOUR),))
    assert due_feedback(EXAMPLE, forgotten, NOW) == []


def test_nps_at_completion_and_thirty_days_later() -> None:
    not_yet = state(done_at=done(*NOVICE))  # every step, not yet completed: only the stage's CSAT
    assert [d.question for d in due_feedback(EXAMPLE, not_yet, NOW)] == [CSAT_BASICS]
    assert due_feedback(EXAMPLE, graduate(done_at=done(*NOVICE, at=NOW - 9 * DAY)), NOW) == [
        AskRating(NPS_NOW, NOW, NPS)
    ]
    first_answered = graduate(
        done_at=done(*NOVICE, at=NOW - 9 * DAY), records=(answered(CSAT_BASICS, 5, NOW - 9 * DAY), answered(NPS_NOW, 8))
    )
    assert due_feedback(EXAMPLE, first_answered, NOW + DAY) == []
    assert next_feedback_at(EXAMPLE, first_answered, NOW + DAY) == NOW + 30 * DAY
    assert due_feedback(EXAMPLE, first_answered, NOW + 30 * DAY) == [AskRating(NPS_LATER, NOW + 30 * DAY, NPS)]


def test_nps_only_later_when_the_file_says_so() -> None:
    journey = journey_with(nps={"text": "Recommend {journey}?", "at_completion": False, "later": "14d"})
    graduated = graduate(done_at=done(*NOVICE, at=NOW - 9 * DAY))
    assert due_feedback(journey, graduated, NOW) == []
    assert next_feedback_at(journey, graduated, NOW) == NOW + 14 * DAY


def test_a_curator_rating_follows_a_resolution_by_a_curator() -> None:
    resolved = state(resolutions=(Resolution(alert_id=17, curator_id=501, resolved_at=NOW),))
    assert due_feedback(EXAMPLE, resolved, NOW) == [AskRating(q(FeedbackKind.CURATOR, "17"), NOW, FIVE, curator_id=501)]
    # asked of a student before the course starts too (a consultation after the fit check)
    onboarding = replace(resolved, status=EnrollmentStatus.NOT_A_FIT, track=None)
    assert [d.question.kind for d in due_feedback(EXAMPLE, onboarding, NOW)] == [FeedbackKind.CURATOR]


@pytest.mark.parametrize(
    "resolution",
    [Resolution(17, None, NOW), Resolution(17, 501, NOW, from_feedback=True)],
    ids=["resolved-by-nobody", "a-feedback-alert"],
)
def test_no_curator_rating_without_a_curator_or_for_a_feedback_alert(resolution: Resolution) -> None:
    assert due_feedback(EXAMPLE, state(resolutions=(resolution,)), NOW) == []


def test_a_journey_without_feedback_asks_nothing() -> None:
    document = yaml.safe_load((SHIPPED_JOURNEYS / "example.en.yaml").read_text(encoding="utf-8"))
    del document["feedback"]
    journey = parse_journey(yaml.safe_dump(document, sort_keys=False), "plain.yaml")
    full = graduate(resolutions=(Resolution(17, 501, NOW),))
    assert due_feedback(journey, full, NOW) == [] and next_feedback_at(journey, full, NOW) is None
    assert rating_on_done(journey, state(done_at=done("setup")), "setup", NOW) is None


# --- the lesson rating rides on the Done confirmation --------------------------------------------------


def test_a_done_step_carries_the_rating_keyboard() -> None:
    keyboard = rating_on_done(EXAMPLE, state(done_at=done("setup")), "setup", NOW)
    assert keyboard is not None
    assert (keyboard.question, keyboard.scale, keyboard.rows) == (
        q(FeedbackKind.LESSON, "setup"),
        FIVE,
        ((1, 2, 3, 4, 5),),
    )


def test_only_the_listed_steps_are_rated_on_the_chosen_scale() -> None:
    journey = journey_with(lessons={"steps": ["functions"], "scale": "thumbs", "text": "Like {step}?"})
    assert rating_on_done(journey, state(done_at=done("setup")), "setup", NOW) is None
    keyboard = rating_on_done(journey, state(done_at=done("functions")), "functions", NOW)
    assert keyboard is not None and (keyboard.scale, keyboard.rows) == (THUMBS, ((1, 0),))


@pytest.mark.parametrize(
    ("who", "step"),
    [
        (state(done_at=done("setup"), records=(asked(q(FeedbackKind.LESSON, "setup"), NOW - 5 * DAY),)), "setup"),
        (state(done_at=done("setup"), blocked=True), "setup"),
        (state(done_at=done("setup"), records=(asked(CSAT_BASICS, NOW - 20 * HOUR),)), "setup"),
        (state(done_at=done("setup"), student_asks=(NOW + 20 * HOUR,)), "setup"),  # one queued for tomorrow
        (state(done_at={}), "setup"),  # not done (yet)
        (state(track="advanced", done_at=done("setup")), "setup"),  # not on the student's track
        (basics_done(), "variables"),  # finishes basics: CSAT goes instead
        (state(status=COMPLETED, done_at=done(*NOVICE), completed_at=NOW), "project"),  # NPS goes instead
    ],
    ids=["rated", "blocked", "asked-today", "queued-tomorrow", "not-done", "other-track", "stage-end", "course-end"],
)
def test_no_rating_keyboard(who: FeedbackState, step: str) -> None:
    assert rating_on_done(EXAMPLE, who, step, NOW) is None


def test_the_last_step_of_a_stage_without_csat_is_rated() -> None:
    practice_done = state(status=COMPLETED, done_at=done(*NOVICE), completed_at=NOW)
    journey = journey_with(nps={"text": "Recommend?", "at_completion": False, "later": "30d"})
    assert rating_on_done(journey, practice_done, "project", NOW) is not None


def test_scales_fit_telegrams_layout_and_read_as_scores() -> None:
    assert keyboard_rows(NPS) == ((0, 1, 2, 3, 4, 5), (6, 7, 8, 9, 10))
    assert [score_label(THUMBS, s) for s in (1, 0)] == ["👍", "👎"]
    assert score_label(FIVE, 4) == "4"


# --- answers ---------------------------------------------------------------------------------------------


def asked_csat(**changes: Any) -> FeedbackState:
    return basics_done(records=(asked(CSAT_BASICS, NOW - HOUR, **changes),))


def test_the_first_answer_is_accepted_and_a_good_csat_offers_a_comment() -> None:
    verdict = answer_feedback(EXAMPLE, CSAT_BASICS, asked_csat(), 4, NOW)
    assert isinstance(verdict, FeedbackAccepted) and verdict.score == 4
    assert verdict.follow_up.ask_comment is CommentAsk.OPTIONAL and verdict.follow_up.raise_alert is None


def test_another_press_within_a_day_changes_the_answer_and_not_after() -> None:
    first = asked_csat(answered_at=NOW, score=4)
    changed = answer_feedback(EXAMPLE, CSAT_BASICS, first, 5, NOW + DAY)
    assert isinstance(changed, FeedbackChanged) and (changed.score, changed.previous) == (5, 4)
    assert changed.follow_up.ask_comment is None  # asked with the first answer already
    assert answer_feedback(EXAMPLE, CSAT_BASICS, first, 5, NOW + DAY + timedelta(seconds=1)) == FeedbackRefused(
        FeedbackRefusal.TOO_LATE, 4
    )


def test_the_same_score_again_changes_nothing() -> None:
    first = asked_csat(answered_at=NOW, score=4)
    assert answer_feedback(EXAMPLE, CSAT_BASICS, first, 4, NOW + HOUR) == FeedbackRefused(FeedbackRefusal.UNCHANGED, 4)


@pytest.mark.parametrize(
    ("question", "score", "who", "reason"),
    [
        (CSAT_BASICS, 6, asked_csat(), FeedbackRefusal.OUT_OF_SCALE),
        (CSAT_BASICS, 0, asked_csat(), FeedbackRefusal.OUT_OF_SCALE),
        (NPS_NOW, 11, graduate(records=(asked(NPS_NOW, NOW),)), FeedbackRefusal.OUT_OF_SCALE),
        (NPS_NOW, -1, graduate(records=(asked(NPS_NOW, NOW),)), FeedbackRefusal.OUT_OF_SCALE),
        (NPS_NOW, 9, graduate(), FeedbackRefusal.NEVER_ASKED),
        (q(FeedbackKind.CSAT, "basics", enrollment_id=2), 4, asked_csat(), FeedbackRefusal.NOT_YOURS),
        (CSAT_BASICS, 5, asked_csat(answered_at=NOW - 2 * DAY, score=3), FeedbackRefusal.TOO_LATE),
    ],
    ids=["above-the-scale", "below-the-scale", "above-nps", "negative", "never-asked", "not-yours", "too-late"],
)
def test_refusals(question: FeedbackQuestion, score: int, who: FeedbackState, reason: FeedbackRefusal) -> None:
    verdict = answer_feedback(EXAMPLE, question, who, score, NOW)
    assert isinstance(verdict, FeedbackRefused) and verdict.reason is reason


def test_a_button_the_journey_no_longer_asks_is_stale() -> None:
    journey = journey_with(stages={"stages": ["practice"], "text": "How was {stage}?"}, lessons=None)
    assert answer_feedback(journey, CSAT_BASICS, asked_csat(), 4, NOW) == FeedbackRefused(FeedbackRefusal.STALE)
    lesson = q(FeedbackKind.LESSON, "setup")
    old_press = state(records=(asked(lesson, NOW, answered_at=NOW, score=2),))
    assert answer_feedback(journey, lesson, old_press, 4, NOW) == FeedbackRefused(FeedbackRefusal.STALE, 2)


LOW_CASES = [
    (FeedbackKind.LESSON, "setup", FIVE, 2, True),
    (FeedbackKind.LESSON, "setup", FIVE, 3, False),
    (FeedbackKind.LESSON, "setup", THUMBS, 0, True),
    (FeedbackKind.LESSON, "setup", THUMBS, 1, False),
    (FeedbackKind.CSAT, "basics", FIVE, 1, True),
    (FeedbackKind.CSAT, "basics", FIVE, 2, True),
    (FeedbackKind.CSAT, "basics", FIVE, 3, False),
    (FeedbackKind.NPS, "completion", NPS, 0, True),
    (FeedbackKind.NPS, "completion", NPS, 6, True),
    (FeedbackKind.NPS, "completion", NPS, 7, False),
    (FeedbackKind.CURATOR, "17", FIVE, 2, True),
    (FeedbackKind.CURATOR, "17", FIVE, 3, False),
]


@pytest.mark.parametrize(("kind", "subject", "scale", "score", "low"), LOW_CASES)
def test_a_low_score_asks_what_went_wrong_and_raises_an_alert(
    kind: FeedbackKind, subject: str, scale: RatingScale, score: int, low: bool
) -> None:
    lesson_scale = scale if kind is FeedbackKind.LESSON else FIVE
    journey = journey_with(lessons={"steps": "all", "scale": lesson_scale.value, "text": "How was {step}?"})
    question = q(kind, subject)
    who = graduate(records=(asked(question, NOW - HOUR, curator_id=501 if kind is FeedbackKind.CURATOR else None),))
    verdict = answer_feedback(journey, question, who, score, NOW)
    assert isinstance(verdict, FeedbackAccepted)
    alert = verdict.follow_up.raise_alert
    assert (alert is not None) is low
    assert (verdict.follow_up.ask_comment is CommentAsk.WHAT_WENT_WRONG) is low
    if alert is not None:
        assert (alert.question, alert.scale, alert.score) == (question, scale, score)
        expected = {
            FeedbackKind.LESSON: ("setup", "basics", None),
            FeedbackKind.CSAT: (None, "basics", None),
            FeedbackKind.NPS: (None, None, None),
            FeedbackKind.CURATOR: (None, None, 501),
        }[kind]
        assert (alert.step, alert.stage, alert.curator_id) == expected


@pytest.mark.parametrize(("score", "promoter"), [(8, False), (9, True), (10, True)])
def test_promoters_get_the_review_link_and_the_offer(score: int, promoter: bool) -> None:
    journey = journey_with(promoter_offer="graduate-club")
    verdict = answer_feedback(journey, NPS_NOW, graduate(records=(asked(NPS_NOW, NOW),)), score, NOW)
    assert isinstance(verdict, FeedbackAccepted)
    review = verdict.follow_up.review_link
    assert (review.url if review else None) == ("https://example.com/reviews/python-basics" if promoter else None)
    assert verdict.follow_up.promoter_offer == ("graduate-club" if promoter else None)


def test_changing_an_answer_follows_up_only_on_what_is_new() -> None:
    promoter = graduate(records=(answered(NPS_NOW, 9),))
    still = answer_feedback(EXAMPLE, NPS_NOW, promoter, 10, NOW + HOUR)
    assert isinstance(still, FeedbackChanged) and still.follow_up.review_link is None  # offered with the 9
    fell = answer_feedback(EXAMPLE, NPS_NOW, promoter, 3, NOW + HOUR)
    assert isinstance(fell, FeedbackChanged) and fell.follow_up.raise_alert is not None
    assert fell.follow_up.ask_comment is CommentAsk.WHAT_WENT_WRONG
    alerted = graduate(records=(answered(NPS_NOW, 3, alerted=True),))
    lower = answer_feedback(EXAMPLE, NPS_NOW, alerted, 1, NOW + HOUR)
    assert isinstance(lower, FeedbackChanged)
    assert lower.follow_up.raise_alert is None and lower.follow_up.update_alert
    rose = answer_feedback(EXAMPLE, NPS_NOW, alerted, 9, NOW + HOUR)
    assert isinstance(rose, FeedbackChanged) and rose.follow_up.update_alert and rose.follow_up.review_link


def test_a_comment_after_a_score_goes_to_its_alert() -> None:
    low = basics_done(records=(answered(CSAT_BASICS, 1, alerted=True),))
    assert comment_feedback(EXAMPLE, CSAT_BASICS, low, NOW + HOUR) == CommentAccepted(CSAT_BASICS, to_alert=True)
    good = basics_done(records=(answered(CSAT_BASICS, 5),))
    assert comment_feedback(EXAMPLE, CSAT_BASICS, good, NOW + HOUR) == CommentAccepted(CSAT_BASICS, to_alert=False)


@pytest.mark.parametrize(
    ("question", "who", "reason"),
    [
        (CSAT_BASICS, asked_csat(), FeedbackRefusal.NOT_ANSWERED),
        (
            CSAT_BASICS,
            basics_done(records=(answered(CSAT_BASICS, 2, commented_at=NOW),)),
            FeedbackRefusal.ALREADY_COMMENTED,
        ),
        (CSAT_BASICS, basics_done(records=(answered(CSAT_BASICS, 2, NOW - 2 * DAY),)), FeedbackRefusal.TOO_LATE),
        (CSAT_BASICS, basics_done(), FeedbackRefusal.NEVER_ASKED),
        (
            q(FeedbackKind.CSAT, "basics", 9),
            basics_done(records=(answered(CSAT_BASICS, 2),)),
            FeedbackRefusal.NOT_YOURS,
        ),
    ],
    ids=["not-answered", "commented", "too-late", "never-asked", "not-yours"],
)
def test_comment_refusals(question: FeedbackQuestion, who: FeedbackState, reason: FeedbackRefusal) -> None:
    verdict = comment_feedback(EXAMPLE, question, who, NOW)
    assert isinstance(verdict, FeedbackRefused) and verdict.reason is reason


def test_the_promoter_offer_is_shown_once_while_it_is_open() -> None:
    journey = journey_with(promoter_offer="graduate-club")
    offers = OfferState(enrollment_id=2, status=COMPLETED, track="novice", delivery=Delivery(MSK, NIGHT))
    assert promoter_offer_open(journey, offers, NOW) == "graduate-club"
    assert promoter_offer_open(journey, replace(offers, shown={"graduate-club": NOW}), NOW) is None
    assert promoter_offer_open(journey, replace(offers, dismissed=frozenset({"graduate-club"})), NOW) is None
    assert promoter_offer_open(journey, replace(offers, blocked=True), NOW) is None
    assert promoter_offer_open(journey, offers, datetime(2027, 7, 2, tzinfo=MSK)) is None  # past its deadline
    assert promoter_offer_open(EXAMPLE, offers, NOW) is None  # the example names no promoter offer


def test_facts_name_journey_track_cohort_step_stage_and_curator() -> None:
    facts = feedback_facts(
        EXAMPLE, q(FeedbackKind.LESSON, "setup"), track="novice", cohort=date(2026, 11, 2), curator_id=501, score=2
    )
    assert facts.to_json() == {
        "journey": "python-basics",
        "track": "novice",
        "cohort": "2026-11-02",
        "kind": "lesson",
        "subject": "setup",
        "step": "setup",
        "stage": "basics",
        "curator_id": 501,
        "score": 2,
        "previous": None,
    }
    nps = feedback_facts(EXAMPLE, NPS_NOW, track=None, cohort=None, curator_id=None, score=10, previous=6)
    assert (nps.step, nps.stage, nps.to_json()["cohort"], nps.previous) == (None, None, None, 6)


# --- report arithmetic --------------------------------------------------------------------------------


def test_nps_counts_promoters_passives_and_detractors() -> None:
    split = nps_split([10, 9, 9, 8, 7, 6, 0, 3, 10, 5])
    assert split == NpsSplit(promoters=4, passives=2, detractors=4)
    assert (split.total, split.score) == (10, 0.0)
    assert nps_split([10, 9, 1]).score == 33.3
    assert nps_split([]).score is None
    assert nps_split([0, 6]).score == -100.0


def test_averages_and_csat() -> None:
    assert average([5, 4, 4]) == Average(3, 4.33)
    assert average([]) is None
    assert csat([5, 4, 3, 1]) == 50.0 and csat([]) is None
    assert averages_by([("opening", 5), ("automation", 2), ("opening", 4)]) == {
        "opening": Average(2, 4.5),
        "automation": Average(1, 2.0),
    }


def test_scores_outside_the_scale_are_a_bug_not_a_statistic() -> None:
    with pytest.raises(ValueError, match="0-10"):
        nps_split([11])
    with pytest.raises(ValueError, match="1-5"):
        csat([0])


@PLAIN
@given(st.lists(st.integers(min_value=0, max_value=10), max_size=60))
def test_the_nps_split_adds_up_and_stays_in_range(scores: list[int]) -> None:
    split = nps_split(scores)
    assert split.total == len(scores)
    assert split.score is None if not scores else -100 <= split.score <= 100


# --- the rules hold over a whole course ---------------------------------------------------------------


def apply(state_now: FeedbackState, decision: FeedbackDecision) -> FeedbackState:
    records = list(state_now.records)
    if isinstance(decision, AskRating):
        records.append(FeedbackRecord(decision.question, decision.at, curator_id=decision.curator_id))
    else:
        records = [replace(r, reminded_at=decision.at) if r.question == decision.question else r for r in records]
    return replace(state_now, records=tuple(records))


@PLAIN
@given(
    gaps=st.lists(st.integers(min_value=0, max_value=72), min_size=len(NOVICE), max_size=len(NOVICE)),
    resolutions=st.lists(st.integers(min_value=0, max_value=400), max_size=3),
    answers=st.sets(st.sampled_from(["csat", "nps", "curator"])),
)
def test_over_a_course_one_message_a_day_each_question_once_and_one_reminder(
    gaps: list[int], resolutions: list[int], answers: set[str]
) -> None:
    """A student works through the course at random hours, curators resolve their questions, the bot ticks
    every hour for two months, answers some questions and never others."""
    hours = [sum(gaps[: i + 1]) for i in range(len(gaps))]
    done_at = {step: NOW + h * HOUR for step, h in zip(NOVICE, hours, strict=True)}
    course_end = NOW + hours[-1] * HOUR
    current = state()
    sent: list[tuple[datetime, FeedbackDecision]] = []
    for tick in range(24 * 60):
        now = NOW + tick * HOUR
        finished = {s: at for s, at in done_at.items() if at <= now}
        resolved = tuple(
            Resolution(i, 500 + i, NOW + h * HOUR) for i, h in enumerate(resolutions) if NOW + h * HOUR <= now
        )
        completed = course_end <= now
        current = replace(
            current,
            done_at=finished,
            resolutions=resolved,
            status=COMPLETED if completed else ACTIVE,
            completed_at=course_end if completed else None,
        )
        for decision in due_feedback(EXAMPLE, current, now):
            assert decision.at >= now
            sent.append((decision.at, decision))
            current = apply(current, decision)
        current = replace(
            current,
            records=tuple(
                replace(r, answered_at=now, score=5)
                if r.answered_at is None and r.question.kind.value in answers and r.asked_at <= now
                else r
                for r in current.records
            ),
        )
    moments = sorted(at for at, _ in sent)
    assert all(b - a >= DAY for a, b in pairwise(moments))
    asks = [d.question for _, d in sent if isinstance(d, AskRating)]
    reminders = [d.question for _, d in sent if isinstance(d, RemindRating)]
    assert len(asks) == len(set(asks)) and len(reminders) == len(set(reminders)) and set(reminders) <= set(asks)
    assert all(local.astimezone(MSK).time() >= time(9) and local.astimezone(MSK).time() < time(22) for local in moments)

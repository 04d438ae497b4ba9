"""Which offers a student is shown and when, their deadline reminders, and the pre-checkout verdict
(journeys/offers.py, journeys/checkout.py), on plain data: no database, no bot."""

from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.settings import SHIPPED_JOURNEYS
from journeys.checkout import CheckoutOk, CheckoutRefusal, CheckoutRefused, checkout_verdict
from journeys.journey import EnrollmentStatus, Journey
from journeys.loader import load_journey, parse_journey
from journeys.nudges import WEEK, Delivery
from journeys.offers import (
    OfferState,
    Product,
    RemindDeadline,
    ShowOffer,
    due_offers,
    held_out,
    next_offer_at,
)
from journeys.spec import GrantKind
from journeys.timing import QuietHours

PLAIN = settings(max_examples=150, deadline=None, derandomize=True, database=None)
MSK = ZoneInfo("Europe/Moscow")
NIGHT = QuietHours(time(22), time(9))
NOW = datetime(2026, 11, 10, 12, tzinfo=MSK)  # a Tuesday noon: outside quiet hours
DAY = timedelta(days=1)
ACTIVE, COMPLETED = EnrollmentStatus.ACTIVE, EnrollmentStatus.COMPLETED
NOVICE = ("how-it-works", "setup", "variables", "functions", "project")  # the example's novice track
CLUB = Product(GrantKind.CLUB)

Document = dict[str, Any]


def offer(offer_id: str, when: Document, **fields: Any) -> Document:
    return {"id": offer_id, "text": "Buy it.", "grants": {"club": True}, "price": {"stars": 100}, "when": when} | fields


def journey_with(*offers: Document, cap: int | None = 3, checkins: list[Document] | None = None) -> Journey:
    document = yaml.safe_load((SHIPPED_JOURNEYS / "example.en.yaml").read_text(encoding="utf-8"))
    document["offers"] = list(offers)
    document["schedule"]["weekly_cap"] = cap
    if checkins is not None:
        document["checkins"] = checkins
    return parse_journey(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "offers.yaml")


def state(**changes: Any) -> OfferState:
    return replace(OfferState(enrollment_id=1, status=ACTIVE, track="novice", delivery=Delivery(MSK, NIGHT)), **changes)


def graduate(**changes: Any) -> OfferState:
    return state(**{"status": COMPLETED, "completed": frozenset(NOVICE), "completed_at": NOW - DAY} | changes)


def shown_ids(journey: Journey, at: OfferState, now: datetime = NOW) -> list[str]:
    return [d.offer_id for d in due_offers(journey, at, now) if isinstance(d, ShowOffer)]


# --- triggers and conditions -------------------------------------------------------------------------


def test_after_step_counts_only_the_students_track() -> None:
    journey = journey_with(offer("o", {"after_step": "setup"}))
    assert shown_ids(journey, state(completed=frozenset({"how-it-works"}))) == []
    assert due_offers(journey, state(completed=frozenset({"setup"})), NOW) == [ShowOffer("o", NOW)]
    assert shown_ids(journey, state(track="advanced", completed=frozenset({"setup"}))) == []


def test_after_stage_needs_every_step_of_the_stage_on_the_track() -> None:
    journey = journey_with(offer("o", {"after_stage": "basics"}))
    assert shown_ids(journey, state(completed=frozenset({"how-it-works", "setup"}))) == []
    assert shown_ids(journey, state(completed=frozenset({"how-it-works", "setup", "variables"}))) == ["o"]
    # the advanced track has no basics steps: its students never finish that stage
    assert shown_ids(journey, state(track="advanced", completed=frozenset(NOVICE))) == []


def test_at_percent_counts_whole_steps_of_the_track() -> None:
    journey = journey_with(offer("o", {"at_percent": 50}))
    assert shown_ids(journey, state(completed=frozenset(NOVICE[:2]))) == []  # 40%
    assert shown_ids(journey, state(completed=frozenset(NOVICE[:3]))) == ["o"]  # 60%
    assert shown_ids(journey, state(track="advanced", completed=frozenset({"project"}))) == ["o"]  # 1 of 2


def test_on_completion_waits_for_the_course_to_be_completed() -> None:
    journey = journey_with(offer("o", {"on_completion": True}))
    assert shown_ids(journey, state(completed=frozenset(NOVICE))) == []  # every step, but not completed yet
    assert shown_ids(journey, graduate()) == ["o"]


def test_days_after_completion_falls_due_then_and_says_when() -> None:
    journey = journey_with(offer("o", {"days_after_completion": "14d"}))
    done = graduate(completed_at=NOW)
    assert due_offers(journey, done, NOW + 14 * DAY - timedelta(seconds=1)) == []
    assert next_offer_at(journey, done, NOW) == NOW + 14 * DAY
    assert due_offers(journey, done, NOW + 14 * DAY) == [ShowOffer("o", NOW + 14 * DAY)]
    assert next_offer_at(journey, state(), NOW) is None  # not completed: nothing is timed


def test_on_answer_follows_a_survey_answer() -> None:
    journey = journey_with(offer("o", {"on_answer": {"experience": ["pro"], "level": ["advanced"]}}))
    assert shown_ids(journey, state(answers={"experience": "pro", "level": "beginner"})) == []
    assert shown_ids(journey, state(answers={"experience": "pro", "level": "advanced"})) == ["o"]


def test_on_answer_follows_a_check_in_answer_once_it_is_stored() -> None:
    journey = load_journey(SHIPPED_JOURNEYS / "online_store.ru.yaml")
    asked = graduate(
        track="novice",
        completed=frozenset(journey.spec.tracks["novice"].steps),
        shown={"graduate-club": NOW, "growth-stage": NOW},
    )
    assert shown_ids(journey, asked) == []
    assert shown_ids(journey, replace(asked, answers={"first_sale": "not_yet"})) == ["mentor-first-sale"]
    assert shown_ids(journey, replace(asked, answers={"first_sale": "sold", "revenue": "under_50k"})) == [
        "mentor-growth"
    ]


def test_tracks_limit_who_sees_an_offer() -> None:
    journey = journey_with(offer("o", {"on_completion": True}, tracks=["advanced"]))
    assert shown_ids(journey, graduate()) == []
    assert shown_ids(journey, graduate(track="advanced")) == ["o"]


@pytest.mark.parametrize(
    "who",
    [
        state(status=EnrollmentStatus.ONBOARDING, answers={"experience": "pro"}),
        state(status=EnrollmentStatus.DROPPED, answers={"experience": "pro"}),
        state(answers={"experience": "pro"}, blocked=True),
    ],
    ids=["still-onboarding", "dropped", "blocked"],
)
def test_nothing_before_the_track_after_dropping_or_when_blocked(who: OfferState) -> None:
    journey = journey_with(offer("o", {"on_answer": {"experience": ["pro"]}}))
    assert due_offers(journey, who, NOW) == []


# --- once, dismissed, bought -----------------------------------------------------------------------------


def test_each_offer_is_shown_once() -> None:
    journey = journey_with(offer("o", {"on_completion": True}))
    assert shown_ids(journey, graduate(shown={"o": NOW - DAY})) == []


def test_not_now_means_never_again() -> None:
    journey = journey_with(offer("o", {"on_completion": True}))
    assert shown_ids(journey, graduate(dismissed=frozenset({"o"}))) == []


def test_a_product_bought_through_any_offer_is_not_offered_again() -> None:
    journey = journey_with(
        offer("club-early", {"after_step": "setup"}),
        offer("club", {"on_completion": True}),
        offer("mentor", {"on_completion": True}, grants={"mentor_days": 30}),
    )
    assert shown_ids(journey, graduate(bought=frozenset({CLUB}))) == ["mentor"]
    mentor_support = Product(GrantKind.MENTOR)
    assert shown_ids(journey, graduate(bought=frozenset({CLUB, mentor_support}))) == []


# --- the holdout ---------------------------------------------------------------------------------------


def test_the_holdout_is_stable_and_about_its_share() -> None:
    journey = journey_with(offer("o", {"on_completion": True}, holdout_percent=30))
    (held,) = journey.spec.offers
    out = [n for n in range(4000) if held_out(journey, held, n)]
    assert 0.27 < len(out) / 4000 < 0.33
    assert out == [n for n in range(4000) if held_out(journey, held, n)]  # a hash: the same every time
    assert shown_ids(journey, graduate(enrollment_id=out[0])) == []
    kept = next(n for n in range(4000) if n not in out)
    assert shown_ids(journey, graduate(enrollment_id=kept)) == ["o"]


def test_each_offer_holds_out_its_own_share() -> None:
    journey = journey_with(
        offer("a", {"on_completion": True}, holdout_percent=50),
        offer("b", {"on_completion": True}, holdout_percent=50, grants={"mentor_days": 7}),
    )
    a, b = journey.spec.offers
    out_a = {n for n in range(1000) if held_out(journey, a, n)}
    out_b = {n for n in range(1000) if held_out(journey, b, n)}
    assert out_a != out_b and 150 < len(out_a & out_b) < 350  # independent: about a quarter in both


def test_no_holdout_holds_no_one_out() -> None:
    journey = journey_with(offer("o", {"on_completion": True}))
    (everyone,) = journey.spec.offers
    assert not any(held_out(journey, everyone, n) for n in range(1000))


# --- deadlines and their reminder ---------------------------------------------------------------------

DEADLINE = NOW + 10 * DAY


def with_deadline(**fields: Any) -> Journey:
    return journey_with(offer("o", {"on_completion": True}, deadline=DEADLINE.isoformat(), **fields))


def test_nothing_is_shown_from_the_deadline_on() -> None:
    journey = with_deadline()
    assert shown_ids(journey, graduate(), DEADLINE - timedelta(seconds=1)) == ["o"]
    assert shown_ids(journey, graduate(), DEADLINE) == []


def test_a_delay_that_ends_after_the_deadline_plans_nothing() -> None:
    journey = journey_with(offer("o", {"days_after_completion": "14d"}, deadline=DEADLINE.isoformat()))
    assert next_offer_at(journey, graduate(completed_at=NOW), NOW) is None


def test_an_offer_that_quiet_hours_would_carry_past_its_deadline_is_not_shown() -> None:
    midnight = datetime(2026, 11, 20, 0, 0, tzinfo=MSK)
    journey = journey_with(offer("o", {"on_completion": True}, deadline=midnight.isoformat()))
    assert due_offers(journey, graduate(), midnight - timedelta(hours=1)) == []  # 23:00: it would wait until 09:00


def test_the_reminder_comes_once_before_the_deadline() -> None:
    journey = with_deadline(deadline_reminder="2d")
    remind_at = DEADLINE - 2 * DAY
    shown = graduate(shown={"o": NOW})
    assert due_offers(journey, shown, NOW) == []
    assert next_offer_at(journey, shown, NOW) == remind_at
    assert due_offers(journey, shown, remind_at) == [RemindDeadline("o", remind_at)]
    assert due_offers(journey, replace(shown, reminded=frozenset({"o"})), remind_at) == []
    assert next_offer_at(journey, replace(shown, reminded=frozenset({"o"})), NOW) is None


def test_no_reminder_when_the_offer_came_later_than_it_would() -> None:
    journey = with_deadline(deadline_reminder="2d")
    late = graduate(shown={"o": DEADLINE - DAY})
    assert due_offers(journey, late, DEADLINE - DAY) == []
    assert next_offer_at(journey, late, DEADLINE - DAY) is None


def test_no_reminder_after_not_now_or_a_purchase_or_the_deadline() -> None:
    journey = with_deadline(deadline_reminder="2d")
    shown = graduate(shown={"o": NOW})
    assert due_offers(journey, replace(shown, dismissed=frozenset({"o"})), DEADLINE - DAY) == []
    assert due_offers(journey, replace(shown, bought=frozenset({CLUB})), DEADLINE - DAY) == []
    assert due_offers(journey, shown, DEADLINE) == []


# --- quiet hours and the weekly cap -----------------------------------------------------------------------


def test_an_offer_due_at_night_waits_for_the_morning() -> None:
    journey = journey_with(offer("o", {"on_completion": True}))
    late = datetime(2026, 11, 10, 23, 30, tzinfo=MSK)
    assert due_offers(journey, graduate(), late) == [ShowOffer("o", datetime(2026, 11, 11, 9, 0, tzinfo=MSK))]


def test_a_full_weekly_cap_postpones_the_offer_until_the_oldest_send_leaves_the_week() -> None:
    journey = journey_with(offer("o", {"on_completion": True}), cap=3)
    oldest = NOW - 5 * DAY  # 12:00 five days ago: room again at 12:00 in two days
    week = graduate(capped_sends=(oldest, NOW - 2 * DAY, NOW - DAY))
    assert due_offers(journey, week, NOW) == [ShowOffer("o", oldest + WEEK)]
    assert due_offers(journey, replace(week, capped_sends=(NOW - 8 * DAY, NOW - 2 * DAY, NOW - DAY)), NOW) == [
        ShowOffer("o", NOW)  # the oldest is out of the window
    ]


def test_offers_due_together_take_their_places_in_the_cap_one_after_another() -> None:
    journey = journey_with(
        offer("club", {"on_completion": True}),
        offer("mentor", {"on_completion": True}, grants={"mentor_days": 30}),
        cap=3,
    )
    first = NOW - 3 * DAY
    decisions = due_offers(journey, graduate(capped_sends=(first, NOW - DAY)), NOW)
    assert decisions == [ShowOffer("club", NOW), ShowOffer("mentor", first + WEEK)]


def test_a_postponed_slot_at_night_moves_on_to_the_morning() -> None:
    journey = journey_with(offer("o", {"on_completion": True}), cap=1)
    night_send = datetime(2026, 11, 4, 23, 0, tzinfo=MSK)  # frees its place at 23:00 on the 11th
    assert due_offers(journey, graduate(capped_sends=(night_send,)), NOW) == [
        ShowOffer("o", datetime(2026, 11, 12, 9, 0, tzinfo=MSK))
    ]


def test_no_cap_no_wait() -> None:
    journey = journey_with(offer("o", {"on_completion": True}), cap=None)
    assert due_offers(journey, graduate(capped_sends=(NOW,) * 10), NOW) == [ShowOffer("o", NOW)]


# --- the pre-checkout verdict -----------------------------------------------------------------------------


def verdict(journey: Journey, offer_id: str, who: OfferState, now: datetime = NOW, stars: int = 100) -> object:
    result = checkout_verdict(journey, offer_id, who, now, stars)
    return result.reason if isinstance(result, CheckoutRefused) else result


def test_a_shown_offer_at_its_price_goes_through_with_its_product() -> None:
    journey = with_deadline()
    result = checkout_verdict(journey, "o", graduate(shown={"o": NOW}), NOW, 100)
    assert isinstance(result, CheckoutOk)
    assert (result.offer.id, result.product) == ("o", CLUB)


def test_not_now_earlier_does_not_refuse_a_payment() -> None:
    journey = with_deadline()
    assert isinstance(verdict(journey, "o", graduate(shown={"o": NOW}, dismissed=frozenset({"o"}))), CheckoutOk)


@pytest.mark.parametrize(
    ("offer_id", "who", "now", "stars", "reason"),
    [
        ("gone", graduate(shown={"gone": NOW}), NOW, 100, CheckoutRefusal.UNKNOWN_OFFER),
        ("call", graduate(shown={"call": NOW}), NOW, 100, CheckoutRefusal.UNKNOWN_OFFER),  # a lead sells nothing
        ("o", graduate(shown={"o": NOW}), DEADLINE, 100, CheckoutRefusal.EXPIRED),
        ("o", graduate(shown={"o": NOW}), NOW, 50, CheckoutRefusal.PRICE_CHANGED),
        ("site", graduate(shown={"site": NOW}), NOW, 100, CheckoutRefusal.PRICE_CHANGED),  # not sold in Stars
        ("o", graduate(shown={"o": NOW}, bought=frozenset({CLUB})), NOW, 100, CheckoutRefusal.ALREADY_BOUGHT),
        ("o", graduate(), NOW, 100, CheckoutRefusal.NOT_OFFERED),
        ("advanced", graduate(shown={"advanced": NOW}), NOW, 100, CheckoutRefusal.WRONG_TRACK),
    ],
    ids=["unknown", "lead", "expired", "price-changed", "no-stars", "bought", "never-shown", "other-track"],
)
def test_every_refusal(offer_id: str, who: OfferState, now: datetime, stars: int, reason: CheckoutRefusal) -> None:
    journey = journey_with(
        offer("o", {"on_completion": True}, deadline=DEADLINE.isoformat()),
        offer("call", {"on_completion": True}, lead=True, price=None, grants=None),
        offer(
            "site",
            {"on_completion": True},
            price={"checkout_url": "https://school.example/pay"},
            grants={"mentor_days": 9},
        ),
        offer("advanced", {"on_completion": True}, tracks=["advanced"], grants={"journey": "python-pro"}),
    )
    assert verdict(journey, offer_id, who, now, stars) is reason


def test_a_held_out_student_cannot_pay_even_with_an_old_invoice() -> None:
    journey = journey_with(offer("o", {"on_completion": True}, holdout_percent=50))
    (held,) = journey.spec.offers
    out = next(n for n in range(100) if held_out(journey, held, n))
    assert verdict(journey, "o", graduate(enrollment_id=out, shown={"o": NOW})) is CheckoutRefusal.NOT_OFFERED


# --- properties over any state ------------------------------------------------------------------------------

PROPERTY_JOURNEY = journey_with(
    offer("step", {"after_step": "setup"}, deadline=(NOW + 20 * DAY).isoformat(), deadline_reminder="10d"),
    offer("half", {"at_percent": 50}, grants={"mentor_days": 7}, holdout_percent=30),
    offer("done", {"on_completion": True}, grants={"file": "https://example.com/a.pdf"}),
    offer("later", {"days_after_completion": "5d"}, grants={"link": {"text": "Go", "url": "https://example.com"}}),
    offer("pro", {"on_answer": {"experience": ["pro"]}}, lead=True, price=None, tracks=["advanced"]),
    cap=2,
)
IDS = [o.id for o in PROPERTY_JOURNEY.spec.offers]


@st.composite
def offer_states(draw: st.DrawFn) -> tuple[OfferState, datetime]:
    # days and minutes drawn apart: hypothesis favours small integers, and the late days hold the reminders
    now = NOW + timedelta(days=draw(st.integers(0, 30)), minutes=draw(st.integers(0, 24 * 60)))
    status = draw(st.sampled_from([ACTIVE, COMPLETED, EnrollmentStatus.WAITING]))
    ago = st.builds(lambda d, m: now - timedelta(days=d, minutes=m), st.integers(0, 9), st.integers(0, 24 * 60))
    since_start = st.integers(0, 30).map(lambda d: min(NOW + timedelta(days=d), now))  # long before a reminder, too
    shown = {offer_id: draw(since_start) for offer_id in IDS if draw(st.booleans())}
    now_and_then = st.integers(min_value=0, max_value=3).map(lambda n: n == 0)  # a quarter of the time
    return (
        OfferState(
            enrollment_id=draw(st.integers(min_value=1, max_value=10_000)),
            status=status,
            track=draw(st.sampled_from(["novice", "advanced"])),
            delivery=Delivery(MSK, draw(st.sampled_from([NIGHT, None]))),
            completed=frozenset(draw(st.sets(st.sampled_from(NOVICE)))),
            completed_at=draw(ago) if status is COMPLETED else None,
            answers={"experience": draw(st.sampled_from(["none", "some", "pro"]))},
            shown=shown,
            dismissed=frozenset(offer_id for offer_id in IDS if draw(now_and_then)),
            reminded=frozenset(offer_id for offer_id in shown if draw(now_and_then)),
            capped_sends=tuple(draw(st.lists(ago, max_size=3))),
        ),
        now,
    )


def applied(at: OfferState, decisions: list[ShowOffer | RemindDeadline]) -> OfferState:
    """The state as the bot stores it after queueing the decisions."""
    shown = dict(at.shown) | {d.offer_id: d.at for d in decisions if isinstance(d, ShowOffer)}
    reminded = at.reminded | {d.offer_id for d in decisions if isinstance(d, RemindDeadline)}
    sends = (*at.capped_sends, *(d.at for d in decisions))
    return replace(at, shown=shown, reminded=reminded, capped_sends=sends)


@PLAIN
@given(offer_states())
def test_decisions_come_once_outside_quiet_hours_within_the_cap_and_before_deadlines(
    case: tuple[OfferState, datetime],
) -> None:
    at, now = case
    decisions = due_offers(PROPERTY_JOURNEY, at, now)
    offers = {o.id: o for o in PROPERTY_JOURNEY.spec.offers}
    for decision in decisions:
        assert decision.at >= now
        assert at.delivery.quiet is None or not at.delivery.quiet.contains(decision.at.astimezone(MSK).time())
        deadline = offers[decision.offer_id].deadline
        assert deadline is None or decision.at < deadline
        assert decision.offer_id not in at.dismissed
        if isinstance(decision, ShowOffer):
            assert decision.offer_id not in at.shown
        else:
            assert decision.offer_id in at.shown and decision.offer_id not in at.reminded
    after = applied(at, decisions)
    assert due_offers(PROPERTY_JOURNEY, after, now) == []  # nothing twice
    for decision in decisions:  # each took a place the cap had
        window = [s for s in after.capped_sends if decision.at - WEEK < s <= decision.at]
        assert len(window) <= 2
    following = next_offer_at(PROPERTY_JOURNEY, after, now)
    assert following is None or following > now
    if following is None:  # nothing timed: later, without a new fact, nothing falls due
        assert due_offers(PROPERTY_JOURNEY, after, now + 40 * DAY) == []

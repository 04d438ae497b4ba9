"""`offers:` and `checkins:` in journey files: the shipped examples load, and every authoring mistake is one
`file:path:message` line at its place. Pure domain: no Telegram, no database."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from bot.settings import SHIPPED_JOURNEYS
from journeys.loader import JourneyError, load_journey, parse_journey
from journeys.offers import offered_journeys
from journeys.spec import GrantKind

EXAMPLE = SHIPPED_JOURNEYS / "example.en.yaml"
DEFAULT = SHIPPED_JOURNEYS / "online_store.ru.yaml"
NAME = "offers.yaml"
MOMENT_FORM = "write it with its offset, e.g. 2026-12-31T23:59:00+03:00"

Document = dict[str, Any]


def issues_after(mutate: Callable[[Document], object]) -> list[str]:
    """The issues of the English example (graduate-club is offers[0], mentor-call offers[1], the one-month
    check-in asks python-at-work and hours-a-week) after `mutate` changed its parsed document."""
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    mutate(document)
    with pytest.raises(JourneyError) as caught:
        parse_journey(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), NAME)
    return [str(issue) for issue in caught.value.issues]


def club(d: Document) -> Document:
    offer: Document = d["offers"][0]
    return offer


def lead(d: Document) -> Document:
    offer: Document = d["offers"][1]
    return offer


# --- the shipped journeys ---------------------------------------------------------------------------


def test_the_example_reads_offers_with_every_field() -> None:
    journey = load_journey(EXAMPLE)
    graduate, mentor = journey.spec.offers
    assert graduate.grants is not None and graduate.grants.kind is GrantKind.CLUB
    assert graduate.price is not None and graduate.price.stars == 500
    assert graduate.deadline == datetime(2027, 6, 30, 23, 59, tzinfo=UTC)
    assert graduate.deadline_reminder == timedelta(days=2)
    assert (graduate.holdout_percent, graduate.buttons.buy, graduate.buttons.dismiss) == (10, "Join for 500 ⭐", None)
    assert mentor.lead and mentor.price is None and mentor.tracks == ("novice",)
    assert mentor.when.on_answer == {"python-at-work": ("not-yet",)}
    (checkin,) = journey.spec.checkins
    assert checkin.after == timedelta(days=30)
    assert [q.id for q in checkin.questions] == ["python-at-work", "hours-a-week"]


def test_the_store_offers_club_on_completion_and_mentors_after_the_check_in() -> None:
    journey = load_journey(DEFAULT)
    offers = {offer.id: offer for offer in journey.spec.offers}
    assert offers["graduate-club"].when.on_completion
    assert offers["mentor-first-sale"].lead and offers["mentor-first-sale"].when.on_answer == {
        "first_sale": ("not_yet",)
    }
    growth = offers["mentor-growth"]
    assert growth.price is not None and growth.price.checkout_url and growth.price.stars is None
    (checkin,) = journey.spec.checkins
    assert (checkin.id, checkin.after, [q.id for q in checkin.questions]) == (
        "two-weeks",
        timedelta(days=14),
        ["first_sale", "revenue"],
    )


def test_offered_journeys_are_exposed_for_the_catalog() -> None:
    def sells_the_next_course(d: Document) -> None:
        club(d)["grants"] = {"journey": "python-advanced"}

    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    sells_the_next_course(document)
    journey = parse_journey(yaml.safe_dump(document, sort_keys=False), NAME)
    assert offered_journeys(journey) == {"python-advanced"}
    assert offered_journeys(load_journey(DEFAULT)) == {"online-store-growth"}  # its paid next stage


def test_a_journey_without_offers_still_loads() -> None:
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    del document["offers"], document["checkins"]
    journey = parse_journey(yaml.safe_dump(document, sort_keys=False), NAME)
    assert journey.spec.offers == () and journey.spec.checkins == ()


# --- every mistake, one line at its place -------------------------------------------------------------

MISTAKES: dict[str, tuple[Callable[[Document], object], list[str]]] = {
    "duplicate_offer_id": (
        lambda d: lead(d).update(id="graduate-club"),
        ["offers[1].id:duplicate offer id 'graduate-club'"],
    ),
    "trigger_with_none": (
        lambda d: club(d).update(when={}),
        [
            "offers[0].when:give exactly one of after_step, after_stage, at_percent, on_completion, "
            "days_after_completion, on_answer"
        ],
    ),
    "trigger_with_two": (
        lambda d: club(d).update(when={"on_completion": True, "after_step": "setup"}),
        [
            "offers[0].when:give exactly one of after_step, after_stage, at_percent, on_completion, "
            "days_after_completion, on_answer"
        ],
    ),
    "unknown_step": (
        lambda d: club(d).update(when={"after_step": "nope"}),
        ["offers[0].when.after_step:unknown step 'nope'"],
    ),
    "unknown_stage": (
        lambda d: club(d).update(when={"after_stage": "advanced"}),
        ["offers[0].when.after_stage:unknown stage 'advanced'"],
    ),
    "percent_out_of_range": (
        lambda d: club(d).update(when={"at_percent": 0}),
        ["offers[0].when.at_percent:Input should be greater than or equal to 1"],
    ),
    "delay_not_a_duration": (
        lambda d: club(d).update(when={"days_after_completion": "two weeks"}),
        ["offers[0].when.days_after_completion:'two weeks' is not a duration: write it as 90s, 30m, 2h, 3d or 1w"],
    ),
    "on_answer_unknown_question": (
        lambda d: lead(d).update(when={"on_answer": {"salary": ["high"]}}),
        ["offers[1].when.on_answer.salary:unknown question 'salary'"],
    ),
    "on_answer_unknown_option": (
        lambda d: lead(d).update(when={"on_answer": {"python-at-work": ["not-yet", "never"]}}),
        ["offers[1].when.on_answer.python-at-work[1]:unknown answer 'never'"],
    ),
    "on_answer_free_text_checkin_question": (
        lambda d: lead(d).update(when={"on_answer": {"hours-a-week": ["5"]}}),
        ["offers[1].when.on_answer.hours-a-week:on_answer can only use choice questions"],
    ),
    "on_answer_free_text_survey_question": (
        lambda d: lead(d).update(when={"on_answer": {"goal": ["web"]}}),
        ["offers[1].when.on_answer.goal:on_answer can only use choice questions"],
    ),
    "unknown_track": (
        lambda d: lead(d).update(tracks=["novice", "expert"]),
        ["offers[1].tracks[1]:unknown track 'expert'"],
    ),
    "grant_with_none": (
        lambda d: club(d).update(grants={}),
        ["offers[0].grants:give exactly one of " + ", ".join(GrantKind)],
    ),
    "grant_with_two": (
        lambda d: club(d).update(grants={"club": True, "mentor_days": 30}),
        ["offers[0].grants:give exactly one of journey, mentor_days, file, link, club"],
    ),
    "grant_missing_for_a_sale": (
        lambda d: club(d).pop("grants"),
        ["offers[0].grants:an offer for sale needs grants: what buying gives"],
    ),
    "grant_of_its_own_journey": (
        lambda d: club(d).update(grants={"journey": "python-basics"}),
        ["offers[0].grants.journey:an offer cannot sell the journey it is in ('python-basics')"],
    ),
    "grant_file_not_reachable": (
        lambda d: club(d).update(grants={"file": "ftp://x"}),
        ["offers[0].grants.file:'ftp://x' is not a web address: write it as https://host/path, without spaces"],
    ),
    "mentor_days_zero": (
        lambda d: club(d).update(grants={"mentor_days": 0}),
        ["offers[0].grants.mentor_days:Input should be greater than or equal to 1"],
    ),
    "neither_price_nor_lead": (
        lambda d: club(d).pop("price"),
        [
            "offers[0]:an offer needs a price (stars, checkout_url or both) or lead: true",
            "offers[0].buttons.buy:a buy button needs a price in stars",
        ],
    ),
    "a_priced_lead": (
        lambda d: lead(d).update(price={"stars": 100}),
        ["offers[1].lead:a lead has no price: leave out price, or lead"],
    ),
    "empty_price": (
        lambda d: club(d).update(price={}),
        [
            "offers[0].price:give stars, checkout_url or both",
            "offers[0].buttons.buy:a buy button needs a price in stars",
        ],
    ),
    "stars_above_telegrams_limit": (
        lambda d: club(d)["price"].update(stars=10001),
        ["offers[0].price.stars:Input should be less than or equal to 10000"],
    ),
    "stars_zero": (
        lambda d: club(d)["price"].update(stars=0),
        ["offers[0].price.stars:Input should be greater than or equal to 1"],
    ),
    "checkout_over_plain_http": (
        lambda d: club(d)["price"].update(checkout_url="http://example.com/pay"),
        ["offers[0].price.checkout_url:a checkout page must be https://: students type card details there"],
    ),
    "checkout_button_without_checkout": (
        lambda d: lead(d).update(buttons={"checkout": "Pay"}),
        ["offers[1].buttons.checkout:a checkout button needs a checkout_url"],
    ),
    "lead_button_on_a_sale": (
        lambda d: club(d).update(buttons={"lead": "Call me"}),
        ["offers[0].buttons.lead:a lead button needs lead: true"],
    ),
    "reminder_without_deadline": (
        lambda d: club(d).pop("deadline"),
        ["offers[0].deadline_reminder:a deadline reminder needs a deadline"],
    ),
    "reminder_text_without_reminder": (
        lambda d: club(d).pop("deadline_reminder"),
        ["offers[0].reminder_text:a reminder text needs a deadline_reminder"],
    ),
    "deadline_without_offset": (
        lambda d: club(d).update(deadline=datetime(2027, 6, 30, 23, 59)),
        [f"offers[0].deadline:2027-06-30T23:59:00 has no UTC offset: {MOMENT_FORM}"],
    ),
    "deadline_a_bare_date": (
        lambda d: club(d).update(deadline=datetime(2027, 6, 30).date()),
        [f"offers[0].deadline:2027-06-30 is a date without a time: {MOMENT_FORM}"],
    ),
    "deadline_not_a_date": (
        lambda d: club(d).update(deadline="end of June"),
        [f"offers[0].deadline:'end of June' is not a date and time: {MOMENT_FORM}"],
    ),
    "holdout_above_100": (
        lambda d: club(d).update(holdout_percent=101),
        ["offers[0].holdout_percent:Input should be less than or equal to 100"],
    ),
    "offer_text_not_telegram_html": (
        lambda d: club(d).update(text="Join <3"),
        ['offers[0].text:not valid Telegram HTML: "<" starts no tag: write it as &lt; (at character 6)'],
    ),
    "unknown_offer_key": (lambda d: club(d).update(next="x"), ["offers[0].next:unknown key"]),
    "checkin_question_reuses_a_survey_id": (
        lambda d: d["checkins"][0]["questions"][1].update(id="goal"),
        ["checkins[0].questions[1].id:question id 'goal' is already a survey question"],
    ),
    "duplicate_checkin_question": (
        lambda d: d["checkins"].append({**d["checkins"][0], "id": "two-months", "after": "60d"}),
        [
            "checkins[1].questions[0].id:duplicate question id 'python-at-work'",
            "checkins[1].questions[1].id:duplicate question id 'hours-a-week'",
        ],
    ),
    "duplicate_checkin_id": (
        lambda d: d["checkins"].append(
            {"id": "one-month", "after": "60d", "questions": [{"id": "q", "text": "Q?", "input": "text"}]}
        ),
        ["checkins[1].id:duplicate check-in id 'one-month'"],
    ),
    "checkin_choice_without_options": (
        lambda d: d["checkins"][0]["questions"][0].pop("options"),
        [
            "checkins[0].questions[0].options:a choice question needs at least one option",
            "offers[1].when.on_answer.python-at-work[0]:unknown answer 'not-yet'",  # the offer following it
        ],
    ),
    "checkin_duplicate_option": (
        lambda d: d["checkins"][0]["questions"][0]["options"][2].update(id="daily"),
        [
            "checkins[0].questions[0].options[2].id:duplicate option id 'daily'",
            "offers[1].when.on_answer.python-at-work[0]:unknown answer 'not-yet'",
        ],
    ),
    "checkin_sets_the_study_plan": (
        lambda d: d["checkins"][0]["questions"][0].update(plan="days"),
        [
            "checkins[0].questions[0].plan:a check-in question cannot set the study plan: the course is over",
            "checkins[0].questions[0].options:every option of a plan: days question needs days",
        ],
    ),
    "checkin_right_after_completion": (
        lambda d: d["checkins"][0].update(after="0s"),
        ["checkins[0].after:must be longer than 0s"],
    ),
    "checkin_without_questions": (
        lambda d: d["checkins"][0].update(questions=[]),
        ["checkins[0].questions:Tuple should have at least 1 item after validation, not 0"],
    ),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_each_mistake_is_one_line_at_its_place(mistake: str) -> None:
    mutate, expected = MISTAKES[mistake]
    assert issues_after(mutate) == [f"{NAME}:{line}" for line in expected]

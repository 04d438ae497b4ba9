"""The reference checks of `offers:` and `checkins:`, as (path, message) pairs like the rest of check_references."""

from collections.abc import Iterator, Mapping, Set

from journeys.issue_paths import path_part
from journeys.question_checks import question_issues
from journeys.spec import GrantKind, JourneySpec, Offer, OfferTrigger, Question

GRANT_KINDS = ", ".join(kind.value for kind in GrantKind)
TRIGGER_KINDS = ", ".join(OfferTrigger.model_fields)


def checkin_issues(spec: JourneySpec, survey: Mapping[str, Question]) -> Iterator[tuple[str, str]]:
    seen_checkins: set[str] = set()
    seen_questions: set[str] = set()
    for c, checkin in enumerate(spec.checkins):
        at = f"checkins[{c}]"
        if checkin.id in seen_checkins:
            yield f"{at}.id", f"duplicate check-in id {checkin.id!r}"
        seen_checkins.add(checkin.id)
        for q, question in enumerate(checkin.questions):
            where = f"{at}.questions[{q}]"
            if question.id in survey:  # both answers would be stored under one key
                yield f"{where}.id", f"question id {question.id!r} is already a survey question"
            elif question.id in seen_questions:
                yield f"{where}.id", f"duplicate question id {question.id!r}"
            seen_questions.add(question.id)
            if question.plan is not None:
                yield f"{where}.plan", "a check-in question cannot set the study plan: the course is over"
            yield from question_issues(question, where)


def answerable_questions(spec: JourneySpec) -> dict[str, Question]:
    """Every question whose answer is stored with the enrollment: the survey's, then the check-ins'."""
    found = {question.id: question for checkin in spec.checkins for question in checkin.questions}
    found.update((question.id, question) for question in spec.survey.questions)
    return found


def offer_issues(spec: JourneySpec, step_ids: Set[str], stage_ids: Set[str]) -> Iterator[tuple[str, str]]:
    questions = answerable_questions(spec)
    seen: set[str] = set()
    for i, offer in enumerate(spec.offers):
        at = f"offers[{i}]"
        if offer.id in seen:
            yield f"{at}.id", f"duplicate offer id {offer.id!r}"
        seen.add(offer.id)
        yield from _grant_issues(spec, offer, at)
        yield from _price_issues(offer, at)
        yield from _trigger_issues(offer.when, f"{at}.when", questions, step_ids, stage_ids)
        for t, track in enumerate(offer.tracks or ()):
            if track not in spec.tracks:
                yield f"{at}.tracks[{t}]", f"unknown track {track!r}"
        if offer.deadline_reminder is not None and offer.deadline is None:
            yield f"{at}.deadline_reminder", "a deadline reminder needs a deadline"
        if offer.reminder_text is not None and offer.deadline_reminder is None:
            yield f"{at}.reminder_text", "a reminder text needs a deadline_reminder"


def _grant_issues(spec: JourneySpec, offer: Offer, at: str) -> Iterator[tuple[str, str]]:
    grants = offer.grants
    if grants is None:
        if not offer.lead:
            yield f"{at}.grants", "an offer for sale needs grants: what buying gives"
        return
    if len(grants.kinds) != 1:
        yield f"{at}.grants", f"give exactly one of {GRANT_KINDS}"
    if grants.journey == spec.id:
        yield f"{at}.grants.journey", f"an offer cannot sell the journey it is in ({spec.id!r})"


def _price_issues(offer: Offer, at: str) -> Iterator[tuple[str, str]]:
    price, buttons = offer.price, offer.buttons
    if price is None and not offer.lead:
        yield at, "an offer needs a price (stars, checkout_url or both) or lead: true"
    if price is not None and offer.lead:
        yield f"{at}.lead", "a lead has no price: leave out price, or lead"
    if price is not None and price.stars is None and price.checkout_url is None:
        yield f"{at}.price", "give stars, checkout_url or both"
    if buttons.buy is not None and (price is None or price.stars is None):
        yield f"{at}.buttons.buy", "a buy button needs a price in stars"
    if buttons.checkout is not None and (price is None or price.checkout_url is None):
        yield f"{at}.buttons.checkout", "a checkout button needs a checkout_url"
    if buttons.lead is not None and not offer.lead:
        yield f"{at}.buttons.lead", "a lead button needs lead: true"


def _trigger_issues(
    trigger: OfferTrigger, at: str, questions: Mapping[str, Question], step_ids: Set[str], stage_ids: Set[str]
) -> Iterator[tuple[str, str]]:
    if len(trigger.kinds) != 1:
        yield at, f"give exactly one of {TRIGGER_KINDS}"
    if trigger.after_step is not None and trigger.after_step not in step_ids:
        yield f"{at}.after_step", f"unknown step {trigger.after_step!r}"
    if trigger.after_stage is not None and trigger.after_stage not in stage_ids:
        yield f"{at}.after_stage", f"unknown stage {trigger.after_stage!r}"
    for question_id, accepted in (trigger.on_answer or {}).items():
        asked, where = questions.get(question_id), f"{at}.on_answer.{path_part(question_id)}"
        if asked is None:
            yield where, f"unknown question {question_id!r}"
        elif not asked.is_choice:
            yield where, "on_answer can only use choice questions"
        else:
            for a, answer in enumerate(accepted):
                if asked.option(answer) is None:
                    yield f"{where}[{a}]", f"unknown answer {answer!r}"

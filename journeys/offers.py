"""Offers after (and during) the course: which ones a student is shown, when, and their one deadline reminder.

An offer is shown once per enrollment when its trigger is met, never to its held-out share of enrollments,
never after its deadline, never for a product the student already holds and never again after "Not now".
Shown offers and deadline reminders share the weekly cap with the nudge ladder's reminders and wait out
quiet hours (not the study slot: an offer is no lesson to plan for).

Pure functions of plain state. The bot loads an OfferState, applies what due_offers says (an outbox row
per decision, due at its `at`; the offer recorded as shown or reminded), then stores next_offer_at of the
updated state as the enrollment's indexed due time. Progress, completion and answers change the state
too: the bot asks due_offers again after each of them.
"""

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from journeys.journey import EnrollmentStatus, Journey
from journeys.nudges import Delivery, weekly_cap
from journeys.spec import GrantKind, Offer, OfferTrigger
from journeys.timing import in_holdout, outside_quiet_hours

# an offer waits for the track: before it the survey is not done and the student has seen no step
OFFERS_OPEN = frozenset({EnrollmentStatus.WAITING, EnrollmentStatus.ACTIVE, EnrollmentStatus.COMPLETED})


@dataclass(frozen=True)
class Product:
    """What a student holds once they bought an offer: two offers of one product (a discount before a deadline
    and the regular price) are one purchase. `ref` is the journey id, the file or the link; empty for the club
    and mentor support."""

    kind: GrantKind
    ref: str = ""


@dataclass(frozen=True)
class OfferState:
    """An enrollment as offers see it, in plain values."""

    enrollment_id: int  # the holdout is stable per enrollment and offer
    status: EnrollmentStatus
    track: str | None
    delivery: Delivery  # time zone and quiet hours (the study plan is not used for offers)
    completed: frozenset[str] = frozenset()  # step ids
    completed_at: datetime | None = None
    answers: Mapping[str, Any] = field(default_factory=dict)  # survey and check-in answers, by question id
    shown: Mapping[str, datetime] = field(default_factory=dict)  # offer id → when it was (or is queued to be) shown
    dismissed: frozenset[str] = frozenset()  # offer ids the student answered "Not now"
    reminded: frozenset[str] = frozenset()  # offer ids whose deadline reminder went
    bought: frozenset[Product] = frozenset()  # what the student holds (the ledger decides what still counts)
    capped_sends: Collection[datetime] = ()  # due times of the capped messages (reminders, offers) of the last week
    blocked: bool = False  # the student blocked the bot


@dataclass(frozen=True)
class ShowOffer:
    offer_id: str
    at: datetime  # the delivery moment: now, or after quiet hours or the weekly cap


@dataclass(frozen=True)
class RemindDeadline:
    offer_id: str
    at: datetime  # always before the offer's deadline


OfferDecision = ShowOffer | RemindDeadline


def product_of(offer: Offer) -> Product | None:
    """None for a lead that grants nothing (a free consultation)."""
    grants = offer.grants
    if grants is None:
        return None
    kind = grants.kind
    if kind is GrantKind.JOURNEY:
        return Product(kind, grants.journey or "")
    if kind is GrantKind.FILE:
        return Product(kind, grants.file or "")
    if kind is GrantKind.LINK:
        return Product(kind, grants.link.url if grants.link else "")
    return Product(kind)


def find_offer(journey: Journey, offer_id: str) -> Offer | None:
    return next((offer for offer in journey.spec.offers if offer.id == offer_id), None)


def offered_journeys(journey: Journey) -> frozenset[str]:
    """The journeys this file's offers enroll in: the catalog checks they exist."""
    return frozenset(o.grants.journey for o in journey.spec.offers if o.grants and o.grants.journey is not None)


def held_out(journey: Journey, offer: Offer, enrollment_id: int) -> bool:
    """Stable per enrollment and offer (a hash, not a draw), so every instance and every tick agree."""
    return in_holdout(str(enrollment_id), f"{journey.id}/offers/{offer.id}", offer.holdout_percent)


def open_to(journey: Journey, offer: Offer, state: OfferState, now: datetime) -> bool:
    """The offer may still reach this student at all: right track, not held out, not bought, before its
    deadline. Dismissal, blocking and whether it was shown are the callers' concern."""
    if offer.tracks is not None and state.track not in offer.tracks:
        return False
    if offer.deadline is not None and now >= offer.deadline:
        return False
    product = product_of(offer)
    if product is not None and product in state.bought:
        return False
    return not held_out(journey, offer, state.enrollment_id)


def trigger_due(journey: Journey, trigger: OfferTrigger, state: OfferState, now: datetime) -> datetime | None:
    """When the trigger falls due: `now` once its condition holds, completion plus the delay for the completion
    triggers (in the future while the delay runs); None while it does not hold."""
    if trigger.on_answer is not None:
        met = all(state.answers.get(q) in accepted for q, accepted in trigger.on_answer.items())
        return now if met else None
    if trigger.on_completion or trigger.days_after_completion is not None:
        if state.status is not EnrollmentStatus.COMPLETED or state.completed_at is None:
            return None
        return state.completed_at + (trigger.days_after_completion or timedelta(0))
    if state.track is None or not journey.has_track(state.track):
        return None
    steps = journey.track(state.track).steps
    if trigger.after_step is not None:
        met = trigger.after_step in steps and trigger.after_step in state.completed
    elif trigger.after_stage is not None:
        of_stage = [s for s in steps if journey.stage_of(s).id == trigger.after_stage]
        met = bool(of_stage) and all(s in state.completed for s in of_stage)
    else:
        done = sum(1 for s in steps if s in state.completed)
        met = trigger.at_percent is not None and 100 * done >= trigger.at_percent * len(steps)
    return now if met else None


def due_offers(journey: Journey, state: OfferState, now: datetime) -> list[OfferDecision]:
    """What goes to the student at `now`, in the journey's order; each decision takes its place in the weekly
    cap before the next is planned."""
    cap = journey.spec.schedule.weekly_cap
    sends = list(state.capped_sends)
    decisions: list[OfferDecision] = []
    for offer, due in _pending(journey, state, now):
        if due > now:
            continue
        at = _slot(state.delivery, cap, sends, now)
        if offer.deadline is not None and at >= offer.deadline:
            continue  # quiet hours or the cap would carry it past the deadline
        sends.append(at)
        decisions.append(ShowOffer(offer.id, at) if offer.id not in state.shown else RemindDeadline(offer.id, at))
    return decisions


def next_offer_at(journey: Journey, state: OfferState, now: datetime) -> datetime | None:
    """The next moment after `now` an offer or a reminder falls due without anything else happening (a
    completion trigger's delay, a reminder's time): the enrollment's indexed due time. None: nothing is
    timed; progress, completion and answers bring the rest, and the bot asks due_offers after each."""
    return min((due for _, due in _pending(journey, state, now) if due > now), default=None)


def _pending(journey: Journey, state: OfferState, now: datetime) -> Iterator[tuple[Offer, datetime]]:
    """Every offer still to show, and every reminder still to send, with the moment it falls due."""
    if state.blocked or state.status not in OFFERS_OPEN:
        return
    for offer in journey.spec.offers:
        if offer.id in state.dismissed or not open_to(journey, offer, state, now):
            continue
        shown_at = state.shown.get(offer.id)
        if shown_at is None:
            due = trigger_due(journey, offer.when, state, now)
            if due is not None and (offer.deadline is None or due < offer.deadline):
                yield offer, due
        elif offer.deadline is not None and offer.deadline_reminder is not None and offer.id not in state.reminded:
            remind = offer.deadline - offer.deadline_reminder
            if shown_at < remind:  # shown closer to the deadline than that: the offer itself was the reminder
                yield offer, remind


def _slot(delivery: Delivery, cap: int | None, sends: Collection[datetime], due: datetime) -> datetime:
    """The first moment from `due` outside quiet hours with room in the weekly cap."""
    at = outside_quiet_hours(due, delivery.tz, delivery.quiet)
    for _ in range(len(sends) + 1):  # each wait lets the oldest send leave the window: it ends
        postponed = weekly_cap(cap, sends, at)
        if postponed is None:
            return at
        at = outside_quiet_hours(postponed.until, delivery.tz, delivery.quiet)
    return at

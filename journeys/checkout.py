"""The pre-checkout rule: a Stars payment for an offer goes through only while the offer is still valid for
this student at the price on the invoice. Telegram wants the answer within 10 seconds: this is plain data,
decided in microseconds on the state the bot already loaded.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from journeys.journey import Journey
from journeys.offers import OfferState, Product, find_offer, held_out, product_of
from journeys.spec import Offer


class CheckoutRefusal(StrEnum):
    UNKNOWN_OFFER = "unknown_offer"  # the journey no longer has it (or the invoice is forged)
    EXPIRED = "expired"  # its deadline has passed
    PRICE_CHANGED = "price_changed"  # the invoice's amount is not the offer's price in stars (or none now)
    ALREADY_BOUGHT = "already_bought"  # the student holds its product
    NOT_OFFERED = "not_offered"  # never shown to this student, or they are in its holdout
    WRONG_TRACK = "wrong_track"  # not for the student's track


@dataclass(frozen=True)
class CheckoutOk:
    offer: Offer
    product: Product  # what to grant once the payment arrives


@dataclass(frozen=True)
class CheckoutRefused:
    reason: CheckoutRefusal


def checkout_verdict(
    journey: Journey, offer_id: str, state: OfferState, now: datetime, price_stars: int
) -> CheckoutOk | CheckoutRefused:
    """Whether to answer the pre-checkout query ok. "Not now" earlier does not refuse: paying is the
    student changing their mind on an invoice they were shown."""
    offer = find_offer(journey, offer_id)
    product = product_of(offer) if offer is not None else None
    if offer is None or product is None:  # a lead sells nothing
        return CheckoutRefused(CheckoutRefusal.UNKNOWN_OFFER)
    if product in state.bought:
        return CheckoutRefused(CheckoutRefusal.ALREADY_BOUGHT)
    if offer.tracks is not None and state.track not in offer.tracks:
        return CheckoutRefused(CheckoutRefusal.WRONG_TRACK)
    if offer_id not in state.shown or held_out(journey, offer, state.enrollment_id):
        return CheckoutRefused(CheckoutRefusal.NOT_OFFERED)
    if offer.deadline is not None and now >= offer.deadline:
        return CheckoutRefused(CheckoutRefusal.EXPIRED)
    if offer.price is None or offer.price.stars != price_stars:
        return CheckoutRefused(CheckoutRefusal.PRICE_CHANGED)
    return CheckoutOk(offer, product)

"""A Stars invoice's payload: it names the checkout row (what was offered to whom, at which price).

Telegram gives the payload back in the pre-checkout query and in successful_payment; a payer could forge one
through a client of their own, so it carries only the checkout's id, which the database checks against the payer.
"""

import re

PREFIX = "ck:"
_PAYLOAD = re.compile(r"ck:([1-9][0-9]{0,9})")
INT_MAX = 2**31 - 1  # the checkouts' Integer primary key


def invoice_payload(checkout_id: int) -> str:
    return f"{PREFIX}{checkout_id}"


def checkout_id_of(payload: str) -> int | None:
    """The checkout an invoice payload names; None for one this bot never makes."""
    match = _PAYLOAD.fullmatch(payload)
    if match is None:
        return None
    checkout_id = int(match[1])
    return checkout_id if checkout_id <= INT_MAX else None

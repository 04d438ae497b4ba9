"""What a payment is, as the ledger compares them: the source, the terms, and whether a repeat is the same payment.

Amounts are integers in the currency's minor units (kopecks, cents; for Telegram Stars, "XTR", whole Stars).
"""

from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum


class PaymentSource(StrEnum):
    """Where the money came from; stored in `purchases.source`, so the values never change."""

    STARS = "stars"  # Telegram Stars: the payment id is telegram_payment_charge_id
    SCHOOL = "school"  # the school's own checkout, reported to /api/v1/payments


@dataclass(frozen=True)
class PaymentTerms:
    """What was bought, for how much and when: a repeat of a payment id must bring exactly these again."""

    product_id: str
    amount: int
    currency: str
    paid_at: datetime
    period_start: datetime | None = None
    period_end: datetime | None = None
    installment: int | None = None  # this payment's number in an installment plan, 1-based
    installments: int | None = None  # how many payments the plan has

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError("a payment's amount is positive, in minor units")
        if self.period_start and self.period_end and self.period_end <= self.period_start:
            raise ValueError("a period ends after it starts")
        if (self.installment is None) != (self.installments is None):
            raise ValueError("an installment comes with the number of installments, and back")
        if (
            self.installment is not None
            and self.installments is not None
            and not 1 <= self.installment <= self.installments
        ):
            raise ValueError("an installment's number is between 1 and the number of installments")

    @property
    def completes_plan(self) -> bool:
        """Paid in full by this payment: a one-off payment, or the last installment of a plan."""
        return self.installment is None or self.installment == self.installments


def differences(stored: PaymentTerms, incoming: PaymentTerms) -> tuple[str, ...]:
    """The terms in which a repeated payment id disagrees with the recorded one; () when it is the same payment.

    Times are compared as instants, so the same moment written with another offset is the same payment.
    """
    return tuple(f.name for f in fields(PaymentTerms) if getattr(stored, f.name) != getattr(incoming, f.name))

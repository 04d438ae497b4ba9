"""Refunds by staff (`/refund` in the bot, `journeybot refund`): a Stars purchase is refunded through Telegram
first and recorded only once Telegram accepts; a school purchase is only recorded (the school returns the money
itself). Either way the ledger's refund listeners revoke the grant and the audit log names who did it."""

import logging
from dataclasses import dataclass
from datetime import datetime

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest

from bot.db.models import AuditAction, Purchase
from bot.db.uow import UnitOfWorkFactory
from bot.revenue.ledger import Ledger, Refund, Refunded
from journeys.clock import Clock
from journeys.purchases import PaymentSource

log = logging.getLogger(__name__)

ALREADY_REFUNDED = "CHARGE_ALREADY_REFUNDED"


@dataclass(frozen=True)
class Charge:
    """A purchase as the staff member is told about it."""

    source: PaymentSource
    payment_id: str
    product_id: str
    amount: int
    currency: str
    refunded_at: datetime | None

    @classmethod
    def of(cls, purchase: Purchase) -> "Charge":
        return cls(
            purchase.source,
            purchase.payment_id,
            purchase.product_id,
            purchase.amount,
            purchase.currency,
            purchase.refunded_at,
        )


@dataclass(frozen=True)
class NoSuchPayment:
    payment_id: str


@dataclass(frozen=True)
class WhichSource:
    """Both a Stars and a school payment have this id: the staff member has to say which."""

    payment_id: str


@dataclass(frozen=True)
class AlreadyRefunded:
    charge: Charge


@dataclass(frozen=True)
class TelegramRefused:
    charge: Charge
    reason: str  # Telegram's description; nothing was recorded


@dataclass(frozen=True)
class TelegramUnavailable:
    charge: Charge  # the refund may be retried: nothing was recorded


@dataclass(frozen=True)
class RefundRecorded:
    charge: Charge
    through_telegram: bool  # False: a school payment, only recorded


StaffRefundOutcome = (
    NoSuchPayment | WhichSource | AlreadyRefunded | TelegramRefused | TelegramUnavailable | RefundRecorded
)


class StaffRefunds:
    def __init__(self, uow_factory: UnitOfWorkFactory, ledger: Ledger, bot: Bot, clock: Clock) -> None:
        self._uow = uow_factory
        self.ledger = ledger
        self.bot = bot
        self.clock = clock

    async def refund(
        self, payment_id: str, *, source: PaymentSource | None = None, actor_id: int | None
    ) -> StaffRefundOutcome:
        """`actor_id`: the staff member's Telegram id; None for the command line."""
        async with self._uow() as uow:  # closed before Telegram is called: no lock held while it answers
            found = [p for p in await uow.purchases.with_payment_id(payment_id) if source in (None, p.source)]
            if not found:
                return NoSuchPayment(payment_id)
            if len(found) > 1:
                return WhichSource(payment_id)
            purchase = found[0]
            charge = Charge.of(purchase)
            if charge.refunded_at is not None:
                return AlreadyRefunded(charge)
            student = await uow.students.get(purchase.student_id) if purchase.student_id is not None else None
        if charge.source is PaymentSource.STARS:
            if student is None:
                return TelegramRefused(charge, "the purchase has no student to refund")
            try:
                await self.bot.refund_star_payment(student.telegram_id, charge.payment_id)
            except TelegramBadRequest as exc:
                if ALREADY_REFUNDED not in exc.message:  # refunded before, outside the ledger: record it now
                    return TelegramRefused(charge, exc.message)
            except TelegramAPIError as exc:
                log.warning("refundStarPayment %s failed: %s", charge.payment_id, exc)
                return TelegramUnavailable(charge)
        async with self._uow() as uow:
            now = self.clock.now()
            outcome = await self.ledger.refund(uow, Refund(charge.source, charge.payment_id, refunded_at=now))
            if not isinstance(outcome, Refunded):  # deleted meanwhile, or (refund_id None) cannot conflict
                return NoSuchPayment(payment_id)
            if outcome.duplicate:  # recorded meanwhile (Telegram's refunded_payment, another admin)
                return AlreadyRefunded(Charge.of(outcome.purchase))
            uow.audit.record(
                AuditAction.REFUNDED,
                now,
                actor_id=actor_id,
                target=f"{charge.source.value}:{charge.payment_id}",
                product=charge.product_id,
                amount=charge.amount,
                currency=charge.currency,
                student_id=outcome.purchase.student_id,
            )
            await uow.commit()
            return RefundRecorded(Charge.of(outcome.purchase), through_telegram=charge.source is PaymentSource.STARS)

"""/club for a student: their membership as it stands, a Stars subscription invoice link to join or renew, and
cancelling or re-enabling a subscription's renewal (editUserStarSubscription)."""

import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import LabeledPrice

from bot.club.access import membership_of
from bot.club.lifecycle import ClubLifecycle
from bot.club.messages import ClubTexts, ClubView
from bot.db.models import Checkout, Purchase
from bot.db.uow import UnitOfWorkFactory
from bot.revenue.invoices import invoice_payload
from bot.revenue.products import CLUB
from bot.telegram_errors import reason
from journeys.clock import Clock
from journeys.club import ClubSource, ClubStatus, ClubTerms

log = logging.getLogger(__name__)

SUBSCRIPTION_PERIOD = 2592000  # 30 days: the only period Telegram takes
STARS = "XTR"


@dataclass(frozen=True)
class NotAStudent:
    """Someone who never started the bot: no row to bill."""


@dataclass(frozen=True)
class NoSubscription:
    """Nothing renews by itself: there is no Stars subscription to cancel or re-enable."""


@dataclass(frozen=True)
class RenewalChanged:
    auto_renew: bool


@dataclass(frozen=True)
class TelegramSaidNo:
    reason: str


RenewalOutcome = NoSubscription | RenewalChanged | TelegramSaidNo


class ClubMembers:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        bot: Bot,
        clock: Clock,
        lifecycle: ClubLifecycle,
        terms: ClubTerms,
        texts: ClubTexts,
    ) -> None:
        self.uow, self.bot, self.clock, self.lifecycle = uow, bot, clock, lifecycle
        self.terms, self.texts, self.price = terms, texts, texts.price

    async def view(self, telegram_id: int, *, pay_link: bool = True) -> ClubView | NotAStudent:
        now = self.clock.now()
        async with self.uow() as uow:
            student = await uow.students.by_telegram_id(telegram_id)
            if student is None:
                return NotAStudent()
            tz = ZoneInfo(student.timezone)
            membership = await membership_of(uow, student.id)
            view = ClubView(price=self.price, tz=tz)
            if membership is not None:
                purchase = await uow.session.get(Purchase, membership.purchase_id) if membership.purchase_id else None
                active = membership.status is ClubStatus.ACTIVE
                view = ClubView(
                    price=self.price,
                    tz=tz,
                    access_until=membership.access_until,
                    in_group_until=membership.access_until + self.terms.grace,
                    active=active,
                    in_grace=active and membership.access_until <= now,
                    subscription=membership.source is ClubSource.STARS_SUBSCRIPTION
                    and membership.charge_id is not None,
                    auto_renew=membership.auto_renew,
                    next_charge=purchase.amount if purchase is not None and purchase.currency == STARS else None,
                    invite_link=membership.invite_link,
                )
            # a renewing subscription needs no new invoice; everyone else may join or renew
            wants_link = pay_link and not (view.active and view.auto_renew and not view.in_grace)
            if not wants_link:
                return view
            checkout = Checkout(
                student_id=student.id,
                product_id=CLUB.id,
                amount=self.price,
                currency=STARS,
                subscription=True,
                created_at=now,
            )
            uow.session.add(checkout)
            await uow.session.flush()
            checkout_id, t = checkout.id, self.texts.t(student.language)
            await uow.commit()
        title = t("Graduate club")
        link = await self.bot.create_invoice_link(
            title=title,
            description=t("A month in the graduate club, renewed by Telegram until you cancel."),
            payload=invoice_payload(checkout_id),
            currency=STARS,
            prices=[LabeledPrice(label=title, amount=self.price)],
            subscription_period=SUBSCRIPTION_PERIOD,
        )
        return ClubView(**{**view.__dict__, "pay_link": link})

    async def set_renewal(self, telegram_id: int, *, renew: bool) -> RenewalOutcome:
        async with self.uow() as uow:
            student = await uow.students.by_telegram_id(telegram_id)
            membership = await membership_of(uow, student.id) if student else None
            if membership is None or membership.status is not ClubStatus.ACTIVE or membership.charge_id is None:
                return NoSubscription()
            charge_id = membership.charge_id
        try:
            await self.bot.edit_user_star_subscription(telegram_id, charge_id, is_canceled=not renew)
        except TelegramAPIError as error:
            log.warning("club: editUserStarSubscription failed: %s", error.message)
            return TelegramSaidNo(reason(error))
        async with self.uow() as uow:
            student = await uow.students.by_telegram_id(telegram_id)
            membership = await membership_of(uow, student.id, for_update=True) if student else None
            if membership is not None and membership.charge_id == charge_id:
                membership.auto_renew = renew
                self.lifecycle.reschedule(membership, self.clock.now())
                await uow.commit()
        return RenewalChanged(renew)

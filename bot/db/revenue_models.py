"""The revenue tables: the ledger of payments, the checkouts (invoices) that lead to Stars payments, what each
enrollment was offered and asked after the course, and the graduate club's memberships."""

from datetime import datetime

from sqlalchemy import BigInteger, Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base
from journeys.club import ClubSource, ClubStatus
from journeys.purchases import PaymentSource
from journeys.spec import GrantKind


class Purchase(Base):
    """The ledger: one row per payment (Stars or the school's), kept once per source and payment id.

    A school payment for an LMS student who has not opened their start link yet waits with `identity_id` only;
    `applied_at` is set once the student is known and the purchase listeners granted what was bought.
    A refund marks the row (the money back, the grant revoked); a renewal is a new row with its own period.
    """

    __tablename__ = "purchases"
    __table_args__ = (
        UniqueConstraint("source", "payment_id"),
        UniqueConstraint("source", "refund_id"),
        Index("ix_purchases_student_paid", "student_id", "paid_at"),
        Index("ix_purchases_product_paid", "product_id", "paid_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[PaymentSource] = mapped_column(
        Enum(PaymentSource, native_enum=False, length=8, values_callable=lambda e: [m.value for m in e])
    )
    payment_id: Mapped[str] = mapped_column(String(128))  # telegram_payment_charge_id or the school's payment_id
    student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id", ondelete="SET NULL"))
    identity_id: Mapped[int | None] = mapped_column(
        ForeignKey("external_identities.id", ondelete="SET NULL"), index=True
    )
    enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollments.id", ondelete="SET NULL"))
    product_id: Mapped[str] = mapped_column(String(64))
    offer_id: Mapped[str | None] = mapped_column(String(64))  # the offer the checkout link came from
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units of `currency`; never a float
    currency: Mapped[str] = mapped_column(String(3))  # ISO 4217, or XTR for Telegram Stars
    paid_at: Mapped[datetime]
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]
    installment: Mapped[int | None]  # 2 of 3: this payment's number in the plan
    installments: Mapped[int | None]
    # paid in full with this payment (one-off, or the plan's last installment): "reached the last payment"
    completes_plan: Mapped[bool] = mapped_column(default=True)
    recorded_at: Mapped[datetime]
    applied_at: Mapped[datetime | None]
    refund_id: Mapped[str | None] = mapped_column(String(128))
    refunded_at: Mapped[datetime | None]


class Checkout(Base):
    """One attempt to pay in Telegram Stars: the invoice's payload names it (bot/revenue/invoices.py), so the
    pre-checkout query and the payment find what was offered to whom, at which price."""

    __tablename__ = "checkouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), index=True)
    enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollments.id", ondelete="SET NULL"))
    offer_id: Mapped[str | None] = mapped_column(String(64))  # None: a product bought outside an offer (/club)
    product_id: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(BigInteger)  # in Stars, as invoiced: a changed price is refused
    currency: Mapped[str] = mapped_column(String(3), default="XTR")
    subscription: Mapped[bool] = mapped_column(default=False)  # a 30-day Stars subscription (createInvoiceLink)
    created_at: Mapped[datetime]
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchases.id", ondelete="SET NULL"))


class ClubMembership(Base):
    """A student's place in the graduate club: one row per student, its lifecycle decided by journeys/club.py.

    `next_check_at` is when the lifecycle job must look at the row next (invite, reminder, removal, win-back).
    """

    __tablename__ = "club_memberships"
    __table_args__ = (Index("ix_club_memberships_next_check_at", "next_check_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), unique=True)
    status: Mapped[ClubStatus] = mapped_column(
        Enum(ClubStatus, native_enum=False, length=8, values_callable=lambda e: [m.value for m in e])
    )
    access_until: Mapped[datetime]
    source: Mapped[ClubSource] = mapped_column(
        Enum(ClubSource, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    # the Stars subscription's latest charge: editUserStarSubscription names the subscription by it
    charge_id: Mapped[str | None] = mapped_column(String(128))
    auto_renew: Mapped[bool] = mapped_column(default=False)
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchases.id", ondelete="SET NULL"))
    granted_at: Mapped[datetime]  # the start of this spell of membership (paying again after removal starts one)
    invite_link: Mapped[str | None] = mapped_column(String(128))
    invited_at: Mapped[datetime | None]
    joined_at: Mapped[datetime | None]
    reminded_for: Mapped[datetime | None]  # the access_until the renewal reminder was queued for
    removed_at: Mapped[datetime | None]
    winback_sent_at: Mapped[datetime | None]
    next_check_at: Mapped[datetime | None]


class ClubChat(Base):
    """The club group's standing with the bot: since when its calls fail for want of admin rights (admins are told
    once per outage; the next call that works ends it)."""

    __tablename__ = "club_chats"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    rights_lost_at: Mapped[datetime | None]


class OfferShown(Base):
    """An offer as one enrollment met it: shown once (queued for `shown_at`), then maybe clicked, dismissed, its
    deadline reminder sent, or a lead raised. The offers service loads these per batch of enrollments."""

    __tablename__ = "offer_states"
    __table_args__ = (UniqueConstraint("enrollment_id", "offer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"))
    offer_id: Mapped[str] = mapped_column(String(64))
    shown_at: Mapped[datetime]  # the moment it was queued for (quiet hours and the weekly cap applied)
    clicked_at: Mapped[datetime | None]  # the first "Learn more"
    dismissed_at: Mapped[datetime | None]  # "Not now": never again
    reminded_at: Mapped[datetime | None]  # the deadline reminder was queued
    lead_at: Mapped[datetime | None]  # "Talk to a curator" was pressed


class CheckinAsked(Base):
    """An outcome check-in put to one enrollment; its answers are stored with the survey's in Enrollment.answers."""

    __tablename__ = "checkin_asks"
    __table_args__ = (UniqueConstraint("enrollment_id", "checkin_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"))
    checkin_id: Mapped[str] = mapped_column(String(64))
    asked_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]  # every question answered (or skipped)


class Grant(Base):
    """What one purchase granted (a journey's enrollment, mentor support, a file or link sent), applied once per
    purchase and marked revoked by its refund. The club keeps its own memberships."""

    __tablename__ = "grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id", ondelete="CASCADE"), unique=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), index=True)
    kind: Mapped[GrantKind] = mapped_column(
        Enum(GrantKind, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    # the enrollment this grant created (None when the student was enrolled in the journey already)
    enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollments.id", ondelete="SET NULL"))
    until: Mapped[datetime | None]  # mentor support ends then
    granted_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

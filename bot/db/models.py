"""Tables. Times are stored timezone-aware (UTC); JSON columns hold survey answers and event data.

The revenue tables live in revenue_models.py and are importable from here too, like Base.
"""

from datetime import date, datetime
from enum import IntEnum, StrEnum
from typing import Any

from sqlalchemy import BigInteger, Enum, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db.base import NAMING_CONVENTION, Base, UTCDateTime
from bot.db.revenue_models import CheckinAsked, Checkout, ClubChat, ClubMembership, Grant, OfferShown, Purchase
from bot.telegram_failure import TelegramFailure
from journeys.journey import EnrollmentStatus

__all__ = [
    "NAMING_CONVENTION",
    "Base",
    "CheckinAsked",
    "Checkout",
    "ClubChat",
    "ClubMembership",
    "Grant",
    "OfferShown",
    "Purchase",
    "UTCDateTime",
]  # the rest are defined here


class Student(Base):
    __tablename__ = "students"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    first_name: Mapped[str] = mapped_column(String(128))
    last_name: Mapped[str | None] = mapped_column(String(128))
    username: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="ru")
    timezone: Mapped[str] = mapped_column(String(64))
    blocked_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    last_activity_at: Mapped[datetime]
    asking_curator_at: Mapped[datetime | None]  # /curator pressed: the next message goes to the curators
    # the journey whose enrollment the step buttons, free text and /progress act on (/courses switches it)
    current_journey_id: Mapped[str | None] = mapped_column(String(40))

    enrollments: Mapped[list["Enrollment"]] = relationship(back_populates="student")

    @property
    def display_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


class Enrollment(Base):
    __tablename__ = "enrollments"
    __table_args__ = (Index("ix_enrollments_status_cohort", "status", "cohort_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), index=True)
    journey_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[EnrollmentStatus] = mapped_column(
        Enum(EnrollmentStatus, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    track: Mapped[str | None] = mapped_column(String(40))
    cohort_start: Mapped[datetime | None]
    current_step: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]
    onboarded_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    last_progress_at: Mapped[datetime | None]
    # the nudge ladder: rungs sent in the current idle spell and when the next one is due
    nudge_rung: Mapped[int] = mapped_column(default=0)
    next_nudge_at: Mapped[datetime | None] = mapped_column(index=True)
    holdout: Mapped[bool] = mapped_column(default=False)  # kept out of nudges, to measure their uplift
    # when the student counts as stalled unless they progress first; stalled_at once they do
    stall_at: Mapped[datetime | None] = mapped_column(index=True)
    stalled_at: Mapped[datetime | None]
    # the planning prompt: ISO weekdays (1 = Monday) and the local time the student will study
    study_days: Mapped[str | None] = mapped_column(String(16))
    study_time: Mapped[str | None] = mapped_column(String(5))
    # the next moment an offer, its deadline reminder or a check-in falls due by time alone
    next_offer_at: Mapped[datetime | None] = mapped_column(index=True)

    student: Mapped[Student] = relationship(back_populates="enrollments")


class StepCompletion(Base):
    __tablename__ = "step_completions"
    __table_args__ = (UniqueConstraint("enrollment_id", "step_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"))
    step_id: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(8))  # bot or lms
    completed_at: Mapped[datetime]


class Event(Base):
    """Append-only log that metrics are computed from."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_type_at", "type", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id", ondelete="SET NULL"), index=True)
    enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollments.id", ondelete="SET NULL"))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    occurred_at: Mapped[datetime]
    # the Telegram update an event was learned from: applying the same update again records nothing
    update_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)


class ExternalIdentity(Base):
    """An LMS student; bound to a Telegram student by a one-time start code."""

    __tablename__ = "external_identities"
    # one per journey the school enrolled the student in: each has its own start link
    __table_args__ = (UniqueConstraint("source", "external_id", "journey_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16), default="lms")
    external_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(256))
    journey_id: Mapped[str] = mapped_column(String(40))
    start_code: Mapped[str] = mapped_column(String(64), unique=True)
    student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    bound_at: Mapped[datetime | None]


class LmsEvent(Base):
    """Progress reported by the LMS, kept once per event id; applied when the student is known."""

    __tablename__ = "lms_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), unique=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("external_identities.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    step_id: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime]
    applied_at: Mapped[datetime | None]


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Priority(IntEnum):
    """Lower goes first: staff actions and replies before reminders, reminders before bulk."""

    URGENT = 0
    NORMAL = 5
    BULK = 9


class OutboxMessage(Base):
    """Every proactive message is a row here first; one sender drains them."""

    __tablename__ = "outbox"
    # in claim order, so a claim reads its batch off the index instead of sorting the backlog
    __table_args__ = (Index("ix_outbox_claim", "status", "priority", "due_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)  # idempotency: one row per intent
    kind: Mapped[str] = mapped_column(String(24))
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), index=True)
    priority: Mapped[int] = mapped_column(default=Priority.NORMAL)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[OutboxStatus] = mapped_column(
        Enum(OutboxStatus, native_enum=False, length=12, values_callable=lambda e: [m.value for m in e]),
        default=OutboxStatus.PENDING,
    )
    due_at: Mapped[datetime]
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    # why the row was given up or cancelled, as the classifier saw it: reports group by it, never by last_error
    failure: Mapped[TelegramFailure | None] = mapped_column(
        Enum(TelegramFailure, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    claimed_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None]
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    broadcast_id: Mapped[int | None] = mapped_column(index=True)


class AlertStatus(StrEnum):
    OPEN = "open"
    TAKEN = "taken"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


# The partial unique index's predicate as literal SQL. An upsert must name it the same way: PostgreSQL infers
# the arbiter index from a bound parameter only while it plans with concrete values (the first five runs).
ALERT_UNRESOLVED = text("status != 'resolved'")


class AlertKind(StrEnum):
    STALL = "stall"  # the student stalled
    LEAD = "lead"  # the student asked a curator about an offer (or the fit check's free consultation)


class Alert(Base):
    """A student brought to the curators: stalled, or a sales lead. At most one unresolved alert per enrollment
    and kind."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alerts_one_unresolved",
            "enrollment_id",
            "kind",
            unique=True,
            sqlite_where=ALERT_UNRESOLVED,
            postgresql_where=ALERT_UNRESOLVED,
        ),
        Index("ix_alerts_status_snoozed", "status", "snoozed_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), index=True)
    kind: Mapped[AlertKind] = mapped_column(
        Enum(AlertKind, native_enum=False, length=8, values_callable=lambda e: [m.value for m in e]),
        default=AlertKind.STALL,
        server_default=AlertKind.STALL.value,
    )
    offer_id: Mapped[str | None] = mapped_column(String(64))  # a lead's offer; None: the free consultation
    status: Mapped[AlertStatus] = mapped_column(
        Enum(AlertStatus, native_enum=False, length=12, values_callable=lambda e: [m.value for m in e])
    )
    reasons: Mapped[dict[str, Any]] = mapped_column(default=dict)
    opened_at: Mapped[datetime]
    taken_by: Mapped[int | None] = mapped_column(BigInteger)
    taken_by_name: Mapped[str | None] = mapped_column(String(128))
    taken_at: Mapped[datetime | None]
    snoozed_until: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[int | None] = mapped_column(BigInteger)  # None: resolved by the student's progress
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    thread_id: Mapped[int | None] = mapped_column(BigInteger)


class CuratorTopic(Base):
    """A student's forum topic in the curator group: created once, its id kept (Telegram cannot list them)."""

    __tablename__ = "curator_topics"
    __table_args__ = (UniqueConstraint("chat_id", "student_id"), UniqueConstraint("chat_id", "thread_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    thread_id: Mapped[int | None] = mapped_column(BigInteger)  # None while being created
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class DigestDecision(StrEnum):
    QUEUED = "queued"
    QUIET = "quiet"  # nothing open, nothing resolved yesterday: nothing to read
    MISSED = "missed"  # the bot first ticked after the day's digest window: no late digest


class CuratorDigest(Base):
    """A day whose curators' digest was decided, once: at most one digest a day, at DIGEST_TIME or never."""

    __tablename__ = "curator_digests"
    __table_args__ = (UniqueConstraint("chat_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    day: Mapped[date]  # the local day (TIMEZONE)
    decision: Mapped[DigestDecision] = mapped_column(
        Enum(DigestDecision, native_enum=False, length=8, values_callable=lambda e: [m.value for m in e])
    )
    decided_at: Mapped[datetime]


class RelayLink(Base):
    """Which student a message in the curator chat is about, so a reply there reaches them."""

    __tablename__ = "relay_links"
    __table_args__ = (UniqueConstraint("chat_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]


class Role(StrEnum):
    ADMIN = "admin"
    CARE = "care"  # the care team: broadcasts, offers, metrics
    CURATOR = "curator"


class StaffMember(Base):
    """Staff added in the bot or with `journeybot staff`; ADMIN_IDS are admins without a row."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=12, values_callable=lambda e: [m.value for m in e])
    )
    name: Mapped[str | None] = mapped_column(String(128))
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    added_at: Mapped[datetime]


class AuditAction(StrEnum):
    """What a staff member did; the values are stored in `audit_log.action`."""

    STAFF_ADDED = "staff_added"
    ROLE_CHANGED = "role_changed"
    STAFF_REMOVED = "staff_removed"
    BROADCAST_CREATED = "broadcast_created"
    BROADCAST_SENT = "broadcast_sent"
    BROADCAST_CANCELLED = "broadcast_cancelled"
    REFUNDED = "refunded"


class AuditEntry(Base):
    """Who did what among the staff, and when. Append-only."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)  # None: the command line
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(String(128))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime]


class BroadcastStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    QUEUEING = "queueing"  # recipients are being written to the outbox in batches
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class Broadcast(Base):
    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_status_at", "status", "scheduled_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[BroadcastStatus] = mapped_column(
        Enum(BroadcastStatus, native_enum=False, length=12, values_callable=lambda e: [m.value for m in e])
    )
    segment: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)  # what to copy, and the URL buttons
    total: Mapped[int] = mapped_column(default=0)
    queued: Mapped[int] = mapped_column(default=0)
    cursor: Mapped[int] = mapped_column(default=0)  # last student id queued: queueing resumes after a crash
    scheduled_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    cancelled_by: Mapped[int | None] = mapped_column(BigInteger)
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)

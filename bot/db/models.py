"""Tables. Times are stored timezone-aware (UTC); JSON columns hold survey answers and event data."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    MetaData,
    String,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from journeys.journey import EnrollmentStatus

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend: SQLite would otherwise hand back naive ones."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware one (the clock gives UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads it at class creation
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
    }


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


class ExternalIdentity(Base):
    """An LMS student; bound to a Telegram student by a one-time start code."""

    __tablename__ = "external_identities"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

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
    identity_id: Mapped[int] = mapped_column(
        ForeignKey("external_identities.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(40))
    step_id: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime]
    applied_at: Mapped[datetime | None]

"""The unit of work: one session, the repositories over it, and the only place that commits."""

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.repositories import (
    AuditLog,
    CheckoutRepository,
    EnrollmentRepository,
    EventLog,
    GrantRepository,
    IdentityRepository,
    PurchaseRepository,
    StaffRepository,
    StudentRepository,
)


class UnitOfWork:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._factory = session_factory

    async def __aenter__(self) -> Self:
        self.session = self._factory()
        self.students = StudentRepository(self.session)
        self.enrollments = EnrollmentRepository(self.session)
        self.events = EventLog(self.session)
        self.identities = IdentityRepository(self.session)
        self.staff = StaffRepository(self.session)
        self.audit = AuditLog(self.session)
        self.purchases = PurchaseRepository(self.session)
        self.checkouts = CheckoutRepository(self.session)
        self.grants = GrantRepository(self.session)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # close() rolls back whatever was not committed, and leaves loaded objects readable
        await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()


class UnitOfWorkFactory:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

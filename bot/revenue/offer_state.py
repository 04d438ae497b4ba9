"""An enrollment as the pre-checkout rule sees it (journeys/offers.py `OfferState`), read by the offers' own
loader (bot/services/offer_state.py), so Buy, the pre-checkout answer and the offers job agree on what was shown
and what the student holds."""

from datetime import datetime
from typing import Protocol

from bot.db.models import Enrollment, Student
from bot.db.uow import UnitOfWork
from bot.services.offer_state import OfferStates as BatchStates
from journeys.catalog import Catalog
from journeys.offers import OfferState


class OfferStates(Protocol):
    async def load(self, uow: UnitOfWork, enrollment: Enrollment, student: Student, now: datetime) -> OfferState: ...


class StoredOfferStates:
    def __init__(self, catalog: Catalog) -> None:
        self.states = BatchStates(catalog)

    async def load(self, uow: UnitOfWork, enrollment: Enrollment, student: Student, now: datetime) -> OfferState:
        return await self.states.for_checkout(uow, enrollment, student, now)

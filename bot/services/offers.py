"""Offers, their deadline reminders and outcome check-ins in the running bot: load → decide → store.

journeys/offers.py and journeys/checkins.py decide on plain state; this service loads it for a batch of
enrollments (bot/services/offer_state.py), queues one outbox row per decision with its idempotency key
(`offer:<enrollment>:<offer>`, `offer-reminder:<enrollment>:<offer>`, `checkin:<enrollment>:<checkin>:<question>`),
records what was shown, reminded and asked, and stores the enrollment's next_offer_at, which the ticker finds
with an indexed query. It also runs after progress and completion (a progress listener) and after a survey or
check-in answer, since those change what is due without any time passing.
"""

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import CheckinAsked, Enrollment, OfferShown, OutboxMessage, OutboxStatus, Purchase, Student
from bot.db.repositories import EventLog
from bot.db.uow import UnitOfWork
from bot.i18n import Translations
from bot.offer_messages import OfferMessages
from bot.outbox.payloads import CheckinPayload, OfferPayload, OfferReminderPayload
from bot.outbox.queue import WAITING, enqueue
from bot.services.offer_state import Loaded, OfferStates
from journeys.catalog import Catalog
from journeys.checkins import due_checkins, find_checkin, next_checkin_at, next_checkin_question
from journeys.clock import Clock
from journeys.events import EventType
from journeys.journey import Journey
from journeys.offers import RemindDeadline, ShowOffer, due_offers, find_offer, next_offer_at, product_of
from journeys.spec import Checkin

BATCH = 500  # enrollments a tick handles; the next tick takes the rest


class Offers:
    def __init__(
        self,
        catalog: Catalog,
        translations: Translations,
        messages: OfferMessages,
        clock: Clock,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.catalog = catalog
        self.clock = clock
        self.translations = translations
        self.messages = messages
        self.states = OfferStates(catalog)
        self.wake = wake  # the sender: something was queued for now

    # --- when it runs ----------------------------------------------------------------------------

    async def tick(self, uow: UnitOfWork, now: datetime) -> int:
        """The ticker's job: enrollments whose next_offer_at has come (claimed like the engagement's batches)."""
        query = (
            select(Enrollment, Student)
            .join(Student, Student.id == Enrollment.student_id)
            .where(Enrollment.journey_id.in_(self.catalog.ids), Enrollment.next_offer_at <= now)
            .order_by(Enrollment.next_offer_at)
            .limit(BATCH)
            .with_for_update(skip_locked=True, of=Enrollment)
        )
        due = [(enrollment, student) for enrollment, student in (await uow.session.execute(query)).all()]
        if due:
            await self._evaluate_batch(uow, due, now)
        return len(due)

    async def on_progress(
        self, uow: UnitOfWork, student: Student, enrollment: Enrollment, step_id: str, now: datetime
    ) -> None:
        await self.evaluate(uow, student, enrollment, now)

    async def on_answer(self, uow: UnitOfWork, student: Student, enrollment: Enrollment, now: datetime) -> None:
        await self.evaluate(uow, student, enrollment, now)

    async def on_purchase(self, uow: UnitOfWork, purchase: Purchase, student: Student, now: datetime) -> None:
        """The ledger's listener: offers of what was just bought (by any offer selling the same product) that are
        still waiting in the outbox for this student would sell it twice: they are cancelled."""
        product = self.states.product(purchase.offer_id or purchase.product_id)
        if product is None:
            return
        same = {o.id for j in self.catalog for o in j.spec.offers if product_of(o) == product}
        enrollments = [e.id for e in await uow.enrollments.of_student(student.id)]
        keys = [
            offer_key(decision, e)
            for e in enrollments
            for o in same
            for decision in (ShowOffer(o, now), RemindDeadline(o, now))
        ]
        if keys:
            await uow.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.key.in_(keys), OutboxMessage.status.in_(WAITING))
                .values(status=OutboxStatus.CANCELLED, last_error="the student bought it")
            )

    async def evaluate(self, uow: UnitOfWork, student: Student, enrollment: Enrollment, now: datetime) -> None:
        """One enrollment, inside the caller's transaction (which holds or here takes the enrollment's lock)."""
        journey = self.catalog.get(enrollment.journey_id)
        if journey is None or not (journey.spec.offers or journey.spec.checkins):
            return  # nothing to offer or ask: no lock, no queries on the Done press
        await uow.session.execute(select(Enrollment.id).where(Enrollment.id == enrollment.id).with_for_update())
        await self._evaluate_batch(uow, [(enrollment, student)], now)

    # --- deciding and queueing -------------------------------------------------------------------

    async def _evaluate_batch(
        self, uow: UnitOfWork, batch: Sequence[tuple[Enrollment, Student]], now: datetime
    ) -> None:
        loaded = await self.states.load(uow, batch, now)
        queued = False
        for enrollment, student in batch:
            queued |= await self._offers(uow, enrollment, student, loaded, now)
            queued |= await self._checkins(uow, enrollment, student, loaded, now)
            journey = self.catalog[enrollment.journey_id]
            moments = [
                next_offer_at(journey, self.states.offer_state(enrollment, student, loaded), now),
                next_checkin_at(journey, self.states.checkin_state(enrollment, student, loaded), now),
            ]
            enrollment.next_offer_at = min((m for m in moments if m is not None), default=None)
        if queued:
            self.wake()

    async def _offers(
        self, uow: UnitOfWork, enrollment: Enrollment, student: Student, loaded: Loaded, now: datetime
    ) -> bool:
        journey = self.catalog[enrollment.journey_id]
        decisions = due_offers(journey, self.states.offer_state(enrollment, student, loaded), now)
        rows = loaded.shown.setdefault(enrollment.id, {})
        t = self.translations.get(student.language)
        for decision in decisions:
            offer = find_offer(journey, decision.offer_id)
            assert offer is not None  # the decisions name the journey's own offers
            payload: OfferPayload | OfferReminderPayload
            match decision:
                case ShowOffer(at=at):
                    rows[offer.id] = OfferShown(enrollment_id=enrollment.id, offer_id=offer.id, shown_at=at)
                    uow.session.add(rows[offer.id])
                    messages = self.messages.offer(
                        offer, t, student_id=student.id, enrollment_id=enrollment.id, now=now
                    )
                    payload = OfferPayload(messages=messages, enrollment_id=enrollment.id, offer_id=offer.id)
                case RemindDeadline(at=at):
                    rows[offer.id].reminded_at = at
                    messages = self.messages.reminder(
                        offer, t, student_id=student.id, enrollment_id=enrollment.id, now=now
                    )
                    payload = OfferReminderPayload(messages=messages, enrollment_id=enrollment.id, offer_id=offer.id)
            await enqueue(
                uow.session,
                key=offer_key(decision, enrollment.id),
                payload=payload,
                chat_id=student.telegram_id,
                student_id=student.id,
                due_at=decision.at,
                now=now,
            )
            loaded.capped.setdefault(student.id, []).append(decision.at)  # the next decision sees it in the cap
        await uow.session.flush()
        return bool(decisions)

    async def _checkins(
        self, uow: UnitOfWork, enrollment: Enrollment, student: Student, loaded: Loaded, now: datetime
    ) -> bool:
        journey = self.catalog[enrollment.journey_id]
        asks = due_checkins(journey, self.states.checkin_state(enrollment, student, loaded), now)
        rows = loaded.asked.setdefault(enrollment.id, {})
        for ask in asks:
            checkin = find_checkin(journey, ask.checkin_id)
            assert checkin is not None
            rows[checkin.id] = CheckinAsked(enrollment_id=enrollment.id, checkin_id=checkin.id, asked_at=ask.at)
            uow.session.add(rows[checkin.id])
            uow.events.record(
                EventType.CHECKIN_ASKED, now, student_id=student.id, enrollment_id=enrollment.id, checkin=checkin.id
            )
            if not await self.ask_next(uow, student, enrollment, checkin, ask.at, now):
                rows[checkin.id].finished_at = now  # every question was answered before (a survey question reused)
        await uow.session.flush()
        return bool(asks)

    async def ask_next(
        self, uow: UnitOfWork, student: Student, enrollment: Enrollment, checkin: Checkin, at: datetime, now: datetime
    ) -> bool:
        """Queues the check-in's first unanswered question for `at`; False when none is left."""
        journey = self.catalog[enrollment.journey_id]
        question = next_checkin_question(checkin, enrollment.answers)
        if question is None:
            return False
        index = checkin.questions.index(question)
        out = self.messages.question(
            checkin,
            checkin_index(journey, checkin),
            index,
            self.translations.get(student.language),
            enrollment_id=enrollment.id,
            first=index == 0,
        )
        await enqueue(
            uow.session,
            key=f"checkin:{enrollment.id}:{checkin.id}:{question.id}",
            payload=CheckinPayload(
                messages=[out], enrollment_id=enrollment.id, checkin_id=checkin.id, question_id=question.id
            ),
            chat_id=student.telegram_id,
            student_id=student.id,
            due_at=at,
            now=now,
        )
        self.wake()
        return True

    # --- sender hook -----------------------------------------------------------------------------

    async def offer_sent(
        self, session: AsyncSession, row: OutboxMessage, payload: OfferPayload, ids: list[int]
    ) -> None:
        """The offer reached the student: that is when it counts as shown in the event log."""
        EventLog(session).record(
            EventType.OFFER_SHOWN,
            self.clock.now(),
            student_id=row.student_id,
            enrollment_id=payload.enrollment_id,
            offer=payload.offer_id,
        )


def checkin_index(journey: Journey, checkin: Checkin) -> int:
    return journey.spec.checkins.index(checkin)


def offer_key(decision: ShowOffer | RemindDeadline, enrollment_id: int) -> str:
    """The outbox idempotency key: each offer, and its deadline reminder, once per enrollment."""
    prefix = "offer" if isinstance(decision, ShowOffer) else "offer-reminder"
    return f"{prefix}:{enrollment_id}:{decision.offer_id}"

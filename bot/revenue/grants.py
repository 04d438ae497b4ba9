"""What a purchase grants, as a ledger purchase and refund listener: applied once per purchase, revoked by its refund.

`journey`: an enrollment in that journey, made the student's current course, its welcome and first question sent;
`mentor_days`: mentor support until paid_at + N days (extending support still running), told to the student and
to the curator desk; `file` / `link`: sent to the student. The club is the club's own listener. Every message
goes through the outbox: the purchase may come from the school's payment API, with no student waiting on a reply.
"""

from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from bot.db.models import Grant, Purchase, Student
from bot.db.uow import UnitOfWork
from bot.i18n import Translations
from bot.keyboards import link_keyboard
from bot.outbox.messages import Out
from bot.outbox.payloads import GrantNotePayload, GrantPayload
from bot.outbox.queue import enqueue
from bot.render import Composer, when
from bot.services.course_entry import CourseEntry
from journeys.catalog import Catalog
from journeys.journey import EnrollmentStatus
from journeys.spec import GrantKind, Offer, OfferGrant
from journeys.telegram_html import plain_text

GRANTED_HERE = frozenset({GrantKind.JOURNEY, GrantKind.MENTOR, GrantKind.FILE, GrantKind.LINK})


def offer_title(offer: Offer, limit: int) -> str:
    """The offer as a title: the first line of its text, plain, at most `limit` characters."""
    first = plain_text(offer.text).strip().split("\n")[0].strip()
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


class Grants:
    def __init__(
        self, catalog: Catalog, entry: CourseEntry, translations: Translations, *, curator_chat_id: int | None
    ) -> None:
        self.catalog = catalog
        self.entry = entry
        self.translations = translations
        self.curator_chat_id = curator_chat_id
        self.desk_t = translations.get(catalog.default.spec.language)  # the desk speaks the school's language

    def _granted(self, purchase: Purchase) -> tuple[Offer, OfferGrant] | None:
        found = self.catalog.offer(purchase.offer_id or purchase.product_id)
        if found is None:
            return None
        offer = found[1]
        if offer.grants is None or offer.grants.kind not in GRANTED_HERE:
            return None
        return offer, offer.grants

    async def on_purchase(self, uow: UnitOfWork, purchase: Purchase, student: Student, now: datetime) -> None:
        granted = self._granted(purchase)
        if granted is None:
            return
        offer, grants = granted
        kind = grants.kind
        values: dict[str, object] = {"purchase_id": purchase.id, "student_id": student.id, "kind": kind}
        values |= {"granted_at": now, "enrollment_id": None, "until": None, "revoked_at": None}
        if kind is GrantKind.MENTOR:
            assert grants.mentor_days is not None
            running = [g.until for g in await uow.grants.of_student(student.id) if _mentoring(g, now)]
            start = max([purchase.paid_at, *[u for u in running if u is not None]])
            values["until"] = start + timedelta(days=grants.mentor_days)
        if not await uow.grants.add_once(values):
            return  # granted before: a purchase grants once
        grant = await uow.grants.of_purchase(purchase.id, for_update=True)
        assert grant is not None
        t = self.translations.get(student.language)
        outs: list[Out]
        if kind is GrantKind.JOURNEY:
            journey = self.catalog[grants.journey or ""]
            had = await uow.enrollments.current(student.id, journey.id)
            decisions = await self.entry.open_granted(uow, student, journey, now)
            if had is None:
                enrollment = await uow.enrollments.current(student.id, journey.id)
                grant.enrollment_id = enrollment.id if enrollment else None
            opened = t("Your purchase opened the course <b>{title}</b>.", title=escape(journey.title))
            outs = [Out.text(opened), *Composer(t).compose(decisions)]
        elif kind is GrantKind.MENTOR:
            assert grant.until is not None
            until = when(grant.until, t, _tz(student))
            outs = [Out.text(t("Mentor support is yours until {date}. A curator will write to you.", date=until))]
            await self._note_desk(uow, student, purchase, grant.until, now)
        elif kind is GrantKind.FILE:
            assert grants.file is not None
            caption = t("Here is what you bought: {title}", title=escape(offer_title(offer, 200)))
            outs = [Out.media("send_document", grants.file.removeprefix("file:"), caption)]
        else:
            assert grants.link is not None
            text = t("Here is what you bought: {title}", title=escape(offer_title(offer, 200)))
            outs = [Out.text(text, link_keyboard(grants.link.text, grants.link.url))]
        await self._tell(uow, student, f"grant:{purchase.id}", outs, now)

    async def on_refund(self, uow: UnitOfWork, purchase: Purchase, student: Student, now: datetime) -> None:
        grant = await uow.grants.of_purchase(purchase.id, for_update=True)
        if grant is None or grant.revoked_at is not None:
            return
        grant.revoked_at = now
        t = self.translations.get(student.language)
        text: str | None = None
        if grant.kind is GrantKind.JOURNEY and grant.enrollment_id is not None:
            enrollment = await uow.enrollments.get(grant.enrollment_id, for_update=True)
            if enrollment is not None and enrollment.status is not EnrollmentStatus.DROPPED:
                enrollment.status = EnrollmentStatus.DROPPED
                enrollment.next_nudge_at = enrollment.stall_at = None
                if student.current_journey_id == enrollment.journey_id:
                    student.current_journey_id = None  # back to their latest other course
                journey = self.catalog.get(enrollment.journey_id)
                title = escape(journey.title if journey else enrollment.journey_id)
                text = t("Your payment was refunded, so the course <b>{title}</b> is closed.", title=title)
        elif grant.kind is GrantKind.MENTOR:
            text = t("Your payment was refunded, so mentor support has ended.")
            await self._note_desk(uow, student, purchase, None, now)
        if text is not None:
            await self._tell(uow, student, f"grant-revoked:{purchase.id}", [Out.text(text)], now)

    async def mentor_until(self, uow: UnitOfWork, student_id: int, now: datetime) -> datetime | None:
        """When the student's mentor support ends; None without any running now."""
        ends = [g.until for g in await uow.grants.of_student(student_id) if _mentoring(g, now)]
        return max((u for u in ends if u is not None), default=None)

    async def _tell(self, uow: UnitOfWork, student: Student, key: str, outs: list[Out], now: datetime) -> None:
        if student.blocked_at is not None or not outs:
            return
        payload = GrantPayload(messages=tuple(outs))
        await enqueue(
            uow.session,
            key=key,
            payload=payload,
            chat_id=student.telegram_id,
            student_id=student.id,
            due_at=now,
            now=now,
        )

    async def _note_desk(
        self, uow: UnitOfWork, student: Student, purchase: Purchase, until: datetime | None, now: datetime
    ) -> None:
        if self.curator_chat_id is None:
            return
        t = self.desk_t
        name = escape(student.display_name or str(student.telegram_id))
        if until is not None:
            text = t("🧑‍🏫 {name} bought mentor support until {date}.", name=name, date=when(until, t, _tz(student)))
            key = f"grant-note:{purchase.id}"
        else:
            text = t("🧑‍🏫 {name}'s mentor support was refunded and has ended.", name=name)
            key = f"grant-note-revoked:{purchase.id}"
        payload = GrantNotePayload(messages=(Out.text(text),), curator_student=student.id)
        await enqueue(uow.session, key=key, payload=payload, chat_id=self.curator_chat_id, due_at=now, now=now)


def _mentoring(grant: Grant, now: datetime) -> bool:
    return grant.kind is GrantKind.MENTOR and grant.revoked_at is None and grant.until is not None and grant.until > now


def _tz(student: Student) -> ZoneInfo:
    return ZoneInfo(student.timezone)

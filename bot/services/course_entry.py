"""Which course a student is on: /start (resuming, a deep link, an LMS start code), the catalog, a course picked
from a list, and a course a purchase grants. What happens on one enrollment is StudentPath's."""

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.db.models import Enrollment, ExternalIdentity, Student
from bot.db.uow import UnitOfWork, UnitOfWorkFactory
from bot.services.student_path import Person, StudentPath
from journeys.catalog import Catalog, card
from journeys.decisions import CourseLocked, Decision, Notice, ShowCatalog, Welcome
from journeys.events import EventType
from journeys.journey import Journey
from journeys.notices import NoticeKey
from journeys.spec import Access

COURSE_LINK = "c-"  # t.me/<bot>?start=c-<journey id> opens that journey of the catalog


class BindListener(Protocol):
    """Told when an LMS identity is bound to the student who opened its start link, once the student's enrollment
    exists, inside the same transaction (the identity is locked)."""

    async def on_bound(
        self, uow: UnitOfWork, student: Student, enrollment: Enrollment, identity: ExternalIdentity, now: datetime
    ) -> None: ...


def course_link_target(payload: str) -> str | None:
    """The journey id a `c-<journey>` start payload names, or None for any other payload (an LMS code)."""
    return payload.removeprefix(COURSE_LINK) if payload.startswith(COURSE_LINK) else None


class CourseEntry:
    def __init__(
        self, uow_factory: UnitOfWorkFactory, path: StudentPath, *, bind_listeners: Sequence[BindListener] = ()
    ) -> None:
        self._uow = uow_factory
        self.path = path
        self.bind_listeners = list(bind_listeners)

    @property
    def catalog(self) -> Catalog:
        return self.path.catalog

    async def start(self, person: Person, payload: str | None = None) -> list[Decision]:
        """/start: resumes the current course; a deep link (`c-<journey>`, or an LMS start code) opens its own;
        a newcomer is enrolled in the only open journey, or shown the catalog when there are several."""
        async with self._uow() as uow:
            now = self.path.clock.now()
            student = await self.path.touch(uow, person, now)
            decisions: list[Decision] = []
            target: Journey | None = None
            granted = False  # an LMS start link enrolls in its journey whether or not it is open to anyone
            bound: ExternalIdentity | None = None
            if payload and (course := course_link_target(payload)) is not None:
                target = self.catalog.get(course)
                if target is None:
                    decisions.append(Notice(NoticeKey.COURSE_UNKNOWN))
            elif payload:
                binding = await self._bind(uow, student, payload, now)
                if isinstance(binding, Notice):
                    decisions.append(binding)
                else:
                    (target, bound), granted = binding, True
            if target is not None:
                decisions += await self._open(uow, student, target, now, granted=granted, bound=bound)
            else:
                decisions += await self._start_current(uow, student, now)
            await uow.commit()
            return decisions

    async def open_course(self, person: Person, journey_id: str) -> list[Decision]:
        """A course button (the catalog, /courses, the next stage, the fit check's alternative)."""
        async with self._uow() as uow:
            now = self.path.clock.now()
            student = await self.path.touch(uow, person, now)
            journey = self.catalog.get(journey_id)
            if journey is None:
                decisions: list[Decision] = [Notice(NoticeKey.COURSE_UNKNOWN)]
            else:
                decisions = await self._open(uow, student, journey, now)
            await uow.commit()
            return decisions

    async def _start_current(self, uow: UnitOfWork, student: Student, now: datetime) -> list[Decision]:
        enrollment = await self.path.current_enrollment(uow, student)
        if enrollment is not None:
            return await self.path.pick_up(uow, enrollment, now)
        courses = self.catalog.open()
        if len(courses) != 1:  # several to choose from (or none open: only what the school grants)
            return [ShowCatalog(tuple(card(journey) for journey in courses))]
        return await self._open(uow, student, courses[0], now)

    async def _open(
        self,
        uow: UnitOfWork,
        student: Student,
        journey: Journey,
        now: datetime,
        *,
        granted: bool = False,
        bound: ExternalIdentity | None = None,
    ) -> list[Decision]:
        """Makes `journey` the student's current course: resumes their enrollment in it, or enrolls them when it
        is open to anyone (or `granted`: the school's LMS link, whose identity was `bound` just now), or says it
        comes with a purchase."""
        enrollment = await uow.enrollments.current(student.id, journey.id)
        if enrollment is None and not granted and journey.spec.access is not Access.OPEN:
            return [CourseLocked(card(journey))]
        student.current_journey_id = journey.id
        decisions: list[Decision] = []
        if enrollment is None:
            enrollment = await self.path.enroll(uow, student, journey, now)
            decisions.append(Welcome(journey.spec.welcome, journey.spec.survey.intro))
        if bound is not None:
            for listener in self.bind_listeners:
                await listener.on_bound(uow, student, enrollment, bound, now)
        return decisions + await self.path.pick_up(uow, enrollment, now)

    async def open_granted(self, uow: UnitOfWork, student: Student, journey: Journey, now: datetime) -> list[Decision]:
        """A purchase opened `journey` (any access): it becomes the student's current course, enrolled in it unless
        they are already; the decisions are its welcome and first question (or where they were)."""
        return await self._open(uow, student, journey, now, granted=True)

    async def _bind(
        self, uow: UnitOfWork, student: Student, code: str, now: datetime
    ) -> tuple[Journey, ExternalIdentity | None] | Notice:
        """An LMS start code: the journey it enrolls in, and the identity if this code binds it now (the bind
        listeners are told once the enrollment exists); a notice when the code is unknown or someone else's."""
        identity = await uow.identities.by_code(code, for_update=True)
        if identity is None:
            return Notice(NoticeKey.LINK_UNKNOWN)
        if identity.student_id not in (None, student.id):
            return Notice(NoticeKey.LINK_USED)
        journey = self.catalog.get(identity.journey_id)
        if journey is None:
            return Notice(NoticeKey.COURSE_UNKNOWN)
        if identity.student_id is not None:
            return journey, None
        identity.student_id = student.id
        identity.bound_at = now
        uow.events.record(EventType.LMS_LINKED, now, student_id=student.id, external_id=identity.external_id)
        await uow.session.flush()
        await self.path.apply_lms_progress(uow, identity)
        return journey, identity

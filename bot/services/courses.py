"""/courses: the student's enrollments in the catalog's journeys with their trackers, and what else is open."""

from collections.abc import Set

from bot.db.uow import UnitOfWorkFactory
from bot.services.student_path import Person, StudentPath
from journeys.catalog import Catalog, card
from journeys.decisions import CourseList, Decision, EnrolledCourse, Notice
from journeys.journey import Journey
from journeys.notices import NoticeKey
from journeys.progress import Progress


class Courses:
    def __init__(self, uow_factory: UnitOfWorkFactory, path: StudentPath) -> None:
        self._uow = uow_factory
        self.path = path

    @property
    def catalog(self) -> Catalog:
        return self.path.catalog

    async def list(self, person: Person) -> list[Decision]:
        async with self._uow() as uow:
            student = await uow.students.by_telegram_id(person.telegram_id)
            if student is None:
                return [Notice(NoticeKey.NOT_ENROLLED)]
            current = await self.path.current_enrollment(uow, student)
            enrollments = [e for e in await uow.enrollments.of_student(student.id) if e.journey_id in self.catalog]
            completed = await uow.enrollments.completed_steps_of([e.id for e in enrollments])
            enrolled = tuple(
                EnrolledCourse(
                    enrollment_id=e.id,
                    course=card(self.catalog[e.journey_id]),
                    status=e.status,
                    progress=_progress(self.catalog[e.journey_id], e.track, completed[e.id]),
                    current=current is not None and e.id == current.id,
                )
                for e in enrollments
            )
            taken = {e.journey_id for e in enrollments}
            more = tuple(card(j) for j in self.catalog.open() if j.id not in taken)
            return [CourseList(enrolled, more)]


def _progress(journey: Journey, track: str | None, completed: Set[str]) -> Progress:
    if track is None or not journey.has_track(track):
        return Progress(0, 0)
    return Progress(journey.done_count(track, completed), len(journey.track(track).steps))

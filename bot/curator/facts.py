"""A student as the curator group sees them: read from the database whenever a card or alert is rendered."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.curator import cards
from bot.curator.cards import Facts
from bot.db.models import Enrollment, Student
from bot.db.repositories import EnrollmentRepository
from bot.db.uow import UnitOfWorkFactory
from bot.i18n import Translator
from journeys.journey import Journey
from journeys.progress import Progress


class StudentFacts:
    def __init__(self, uow_factory: UnitOfWorkFactory, journey: Journey, t: Translator) -> None:
        self._uow, self.journey, self.t = uow_factory, journey, t

    async def of(self, session: AsyncSession, student: Student, enrollment: Enrollment | None) -> Facts:
        name = student.display_name or str(student.telegram_id)
        if enrollment is None or enrollment.track is None:
            answers = self._answers(enrollment.answers if enrollment else {})
            return Facts(name, student.username, None, None, None, answers)
        track = self.journey.track(enrollment.track) if self.journey.has_track(enrollment.track) else None
        if track is None:
            return Facts(name, student.username, enrollment.track, None, None, self._answers(enrollment.answers))
        completed = await EnrollmentRepository(session).completed_steps(enrollment.id)
        step = self.journey.step(enrollment.current_step) if enrollment.current_step else None
        if step is not None and step.id in track.steps:
            progress = Progress(track.steps.index(step.id) + 1, len(track.steps))
        else:
            step, progress = None, Progress(self.journey.done_count(enrollment.track, completed), len(track.steps))
        return Facts(
            name,
            student.username,
            track.title,
            step.title if step else None,
            progress,
            self._answers(enrollment.answers),
        )

    def _answers(self, answers: dict[str, Any]) -> list[tuple[str, str]]:
        shown = []
        for question in self.journey.questions:
            if question.id not in answers:
                continue
            value = answers[question.id]
            option = question.option(value) if value is not None and question.is_choice else None
            text = option.text if option else (self.t("skipped") if value is None else str(value))
            shown.append((question.id, text))
        return shown

    async def describe(self, student_id: int) -> tuple[str, str]:
        """The name of the student's forum topic and the card pinned in it."""
        async with self._uow() as uow:
            student = await uow.students.get(student_id)
            assert student is not None
            enrollment = await uow.enrollments.current(student_id, self.journey.id)
            facts = await self.of(uow.session, student, enrollment)
        return cards.topic_name(student), cards.card_text(facts, self.t)

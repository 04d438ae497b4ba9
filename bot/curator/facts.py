"""A student as the curator group sees them: read from the database whenever a card or alert is rendered."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.curator import cards
from bot.curator.cards import Facts
from bot.db.models import Enrollment, Student
from bot.db.repositories import EnrollmentRepository
from bot.db.uow import UnitOfWorkFactory
from bot.i18n import Translator
from journeys.catalog import Catalog
from journeys.journey import Journey
from journeys.progress import Progress


class StudentFacts:
    def __init__(self, uow_factory: UnitOfWorkFactory, catalog: Catalog, t: Translator) -> None:
        self._uow, self.catalog, self.t = uow_factory, catalog, t

    async def of(self, session: AsyncSession, student: Student, enrollment: Enrollment | None) -> Facts:
        name = student.display_name or str(student.telegram_id)
        journey = self.catalog.get(enrollment.journey_id) if enrollment else None
        if enrollment is None or journey is None or enrollment.track is None:
            answers = self._answers(journey, enrollment.answers if enrollment else {})
            return Facts(name, student.username, None, None, None, answers)
        answers = self._answers(journey, enrollment.answers)
        track = journey.track(enrollment.track) if journey.has_track(enrollment.track) else None
        if track is None:
            return Facts(name, student.username, enrollment.track, None, None, answers)
        completed = await EnrollmentRepository(session).completed_steps(enrollment.id)
        step = journey.step(enrollment.current_step) if enrollment.current_step else None
        if step is not None and step.id in track.steps:
            progress = Progress(track.steps.index(step.id) + 1, len(track.steps))
        else:
            step, progress = None, Progress(journey.done_count(enrollment.track, completed), len(track.steps))
        # with several journeys in the catalog the curators need to know which course the track is of
        shown_track = track.title if len(self.catalog) == 1 else f"{journey.title} · {track.title}"
        return Facts(
            name,
            student.username,
            shown_track,
            step.title if step else None,
            progress,
            answers,
        )

    def _answers(self, journey: Journey | None, answers: dict[str, Any]) -> list[tuple[str, str]]:
        shown: list[tuple[str, str]] = []
        # the check-ins' answers are stored with the survey's: a lead's curator needs both
        asked = [*journey.questions, *(q for c in journey.spec.checkins for q in c.questions)] if journey else []
        for question in asked:
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
            enrollment = await uow.enrollments.chosen(student, self.catalog.ids)
            facts = await self.of(uow.session, student, enrollment)
        return cards.topic_name(student), cards.card_text(facts, self.t)

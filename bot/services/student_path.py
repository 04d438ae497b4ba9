"""The student path as use cases: each call loads state, asks the journey what happens, stores the
result and commits, and returns the decisions for the adapter to render. No Telegram types here."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.db.models import Enrollment, ExternalIdentity, Student
from bot.db.uow import UnitOfWork, UnitOfWorkFactory
from bot.names import fit
from journeys.clock import Clock
from journeys.cohort import cohort_start
from journeys.decisions import (
    AlreadyCompleted,
    AnswerRecorded,
    AskQuestion,
    CourseCompleted,
    Decision,
    Notice,
    ProgressReport,
    ShowStep,
    StepAccepted,
    TextRejected,
    TrackAssigned,
    UseButtons,
    WaitingForStart,
    Welcome,
)
from journeys.journey import SKIPPED, EnrollmentStatus, Journey, TextProblem, check_text
from journeys.notices import NoticeKey
from journeys.progress import Progress
from journeys.timing import in_holdout


@dataclass(frozen=True)
class Person:
    """Who wrote to the bot, as Telegram describes them."""

    telegram_id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


class ProgressListener(Protocol):
    """Told about every counted step (bot or LMS) inside the transaction that records it."""

    async def on_progress(
        self, uow: UnitOfWork, student: Student, enrollment: Enrollment, step_id: str, now: datetime
    ) -> None: ...


class StartListener(Protocol):
    """Told when an enrollment becomes active (its cohort started), inside the same transaction."""

    async def on_start(self, uow: UnitOfWork, student: Student, enrollment: Enrollment, now: datetime) -> None: ...


def language_of(language_code: str | None) -> str:
    return "en" if (language_code or "").lower().startswith("en") else "ru"


class StudentPath:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        journey: Journey,
        clock: Clock,
        tz: ZoneInfo,
        *,
        progress_listeners: Sequence[ProgressListener] = (),
        start_listeners: Sequence[StartListener] = (),
    ) -> None:
        self._uow = uow_factory
        self.journey = journey
        self.clock = clock
        self.tz = tz
        self.progress_listeners = list(progress_listeners)
        self.start_listeners = list(start_listeners)

    # --- use cases -------------------------------------------------------------------------------

    async def start(self, person: Person, payload: str | None = None) -> list[Decision]:
        async with self._uow() as uow:
            now = self.clock.now()
            student = await self._touch(uow, person, now)
            decisions: list[Decision] = []
            if payload:
                decisions += await self._bind(uow, student, payload, now)
            enrollment = await uow.enrollments.current(student.id, self.journey.id)
            if enrollment is None:
                enrollment = await self._enroll(uow, student, now)
                decisions.append(Welcome(self.journey.spec.welcome, self.journey.spec.survey.intro))
            decisions += await self._resume(uow, enrollment, now)
            await uow.commit()
            return decisions

    async def choose(self, person: Person, enrollment_id: int, index: int, option: int) -> list[Decision]:
        return await self._press_answer(person, enrollment_id, index, option)

    async def skip(self, person: Person, enrollment_id: int, index: int) -> list[Decision]:
        return await self._press_answer(person, enrollment_id, index, None)

    async def _press_answer(self, person: Person, enrollment_id: int, index: int, option: int | None) -> list[Decision]:
        """An option button (or Skip, when `option` is None) under survey question `index`."""
        async with self._uow() as uow:
            now = self.clock.now()
            owned = await self._owned(uow, person, enrollment_id, now)
            if isinstance(owned, Notice):
                return [owned]
            question = self._question_at(index)
            stale = self._not_current(owned, index)
            if option is None:
                valid = question is not None and not question.required
            else:
                valid = question is not None and 0 <= option < len(question.options)
            if stale or not valid or question is None:
                return [stale or Notice(NoticeKey.STALE)]
            chosen = question.options[option] if option is not None else None
            value, label = (chosen.id, chosen.text) if chosen else (SKIPPED, None)
            decisions = await self._record_answer(uow, owned, index, value, label, now)
            await uow.commit()
            return decisions

    async def text(self, person: Person, text: str) -> list[Decision]:
        """Free text from the student: a survey answer where one is expected, otherwise guidance."""
        async with self._uow() as uow:
            now = self.clock.now()
            enrollment = await self._current(uow, person, now)
            if enrollment is None:
                await uow.commit()
                return [Notice(NoticeKey.NOT_ENROLLED)]
            if enrollment.status is not EnrollmentStatus.ONBOARDING:
                decisions: list[Decision] = [Notice(NoticeKey.FALLBACK)]
                if enrollment.status is EnrollmentStatus.WAITING:
                    decisions = await self._resume(uow, enrollment, now)
                await uow.commit()
                return decisions
            question = self.journey.next_question(enrollment.answers)
            assert question is not None  # an onboarding enrollment always has a question left
            index = self.journey.questions.index(question)
            ask = AskQuestion(enrollment.id, index, question, len(self.journey.questions))
            if question.is_choice:
                await uow.commit()
                return [UseButtons(question), ask]
            check = check_text(question, text)
            if not check.ok:
                await uow.commit()
                return [TextRejected(question, check.reason or TextProblem.PATTERN, check.limit), ask]
            decisions = await self._record_answer(uow, enrollment, index, text.strip(), None, now)
            await uow.commit()
            return decisions

    async def complete_step(self, person: Person, enrollment_id: int, index: int) -> list[Decision]:
        async with self._uow() as uow:
            now = self.clock.now()
            owned = await self._owned(uow, person, enrollment_id, now)
            if isinstance(owned, Notice):
                return [owned]
            if owned.track is None or owned.status not in (
                EnrollmentStatus.ACTIVE,
                EnrollmentStatus.COMPLETED,
            ):
                return [Notice(NoticeKey.STALE)]
            steps = self.journey.steps_of(owned.track)
            if not 0 <= index < len(steps):
                return [Notice(NoticeKey.STALE)]
            step = steps[index]
            if not await uow.enrollments.record_completion(owned.id, step.id, "bot", now):
                await uow.commit()
                return [Notice(NoticeKey.ALREADY_DONE)]
            decisions: list[Decision] = [StepAccepted(step)]
            decisions += await self._after_progress(uow, owned, step.id, "bot", now)
            await uow.commit()
            return decisions

    async def resume(self, person: Person, enrollment_id: int | None = None) -> list[Decision]:
        """Where am I: the current question, the current step, or the cohort start."""
        async with self._uow() as uow:
            now = self.clock.now()
            enrollment = await self._current(uow, person, now)
            if enrollment is None or (enrollment_id is not None and enrollment.id != enrollment_id):
                await uow.commit()
                return [Notice(NoticeKey.NOT_ENROLLED if enrollment is None else NoticeKey.STALE)]
            decisions = await self._resume(uow, enrollment, now)
            await uow.commit()
            return decisions

    async def progress(self, person: Person) -> list[Decision]:
        async with self._uow() as uow:
            now = self.clock.now()
            enrollment = await self._current(uow, person, now)
            if enrollment is None:
                await uow.commit()
                return [Notice(NoticeKey.NOT_ENROLLED)]
            if enrollment.status is EnrollmentStatus.ONBOARDING:
                await uow.commit()
                return [Notice(NoticeKey.SURVEY_FIRST), *await self._resume(uow, enrollment, now)]
            activated = await self._activate_if_due(uow, enrollment, now)
            completed = await uow.enrollments.completed_steps(enrollment.id)
            track = self.journey.track(enrollment.track) if enrollment.track else None
            report = ProgressReport(
                enrollment_id=enrollment.id,
                status=enrollment.status,
                progress=self._progress(enrollment, completed),
                next_step=self.journey.next_step(enrollment.track, completed) if enrollment.track else None,
                starts_at=await self._local(uow, enrollment, enrollment.cohort_start)
                if enrollment.status is EnrollmentStatus.WAITING and enrollment.cohort_start
                else None,
                track=track,
            )
            await uow.commit()
            return [report, *activated]

    async def start_if_due(self, uow: UnitOfWork, enrollment: Enrollment) -> list[Decision]:
        """The scheduler's way in: a waiting enrollment whose cohort has started gets its first step."""
        return await self._activate_if_due(uow, enrollment, self.clock.now())

    async def apply_lms_progress(self, uow: UnitOfWork, identity: ExternalIdentity) -> int:
        """Applies the LMS events waiting for this identity; returns how many steps were newly counted."""
        if identity.student_id is None:
            return 0
        # Lock the enrollment before inserting completions, in the same order as a Done press
        # (enrollment, then completion); the other order deadlocks on PostgreSQL when both count a step at once.
        enrollment = await uow.enrollments.current(identity.student_id, self.journey.id, for_update=True)
        if enrollment is None:
            return 0
        now = self.clock.now()
        counted = 0
        for event in await uow.identities.pending_events(identity.id):
            event.applied_at = now
            if await uow.enrollments.record_completion(enrollment.id, event.step_id, "lms", now):
                counted += 1
                await self._after_progress(uow, enrollment, event.step_id, "lms", now)
        return counted

    # --- steps of the path -----------------------------------------------------------------------

    async def _touch(self, uow: UnitOfWork, person: Person, now: datetime) -> Student:
        student = await uow.students.by_telegram_id(person.telegram_id)
        if student is None:
            student = Student(
                telegram_id=person.telegram_id,
                first_name=fit(person.first_name),
                timezone=self.tz.key,
                created_at=now,
                last_activity_at=now,
            )
            await uow.students.add(student)
        student.first_name = fit(person.first_name)
        student.last_name = fit(person.last_name) if person.last_name else None
        student.username = fit(person.username, 64) if person.username else None
        student.language = language_of(person.language_code)
        student.last_activity_at = now
        student.blocked_at = None  # writing to us means they have not blocked us
        await uow.session.flush()
        return student

    async def _current(self, uow: UnitOfWork, person: Person, now: datetime) -> Enrollment | None:
        """The person's enrollment in this journey (None before /start), after noting their activity."""
        student = await self._touch(uow, person, now)
        return await uow.enrollments.current(student.id, self.journey.id)

    async def _owned(self, uow: UnitOfWork, person: Person, enrollment_id: int, now: datetime) -> Enrollment | Notice:
        student = await self._touch(uow, person, now)
        enrollment = await uow.enrollments.get(enrollment_id, for_update=True)
        if enrollment is None or enrollment.student_id != student.id:
            await uow.commit()
            return Notice(NoticeKey.NOT_YOURS)
        return enrollment

    async def _enroll(self, uow: UnitOfWork, student: Student, now: datetime) -> Enrollment:
        holdout = in_holdout(str(student.telegram_id), self.journey.id, self.journey.spec.schedule.holdout_percent)
        enrollment = await uow.enrollments.add(
            Enrollment(
                student_id=student.id,
                journey_id=self.journey.id,
                status=EnrollmentStatus.ONBOARDING,
                answers={},
                created_at=now,
                holdout=holdout,
            )
        )
        # the group is recorded with the enrollment, so metrics can compare nudged and held-out students
        uow.events.record("enrolled", now, student_id=student.id, enrollment_id=enrollment.id, holdout=holdout)
        for identity in await uow.identities.for_student(student.id):
            await self.apply_lms_progress(uow, identity)
        return enrollment

    async def _bind(self, uow: UnitOfWork, student: Student, code: str, now: datetime) -> list[Decision]:
        identity = await uow.identities.by_code(code, for_update=True)
        if identity is None:
            return [Notice(NoticeKey.LINK_UNKNOWN)]
        if identity.student_id not in (None, student.id):
            return [Notice(NoticeKey.LINK_USED)]
        if identity.student_id is None:
            identity.student_id = student.id
            identity.bound_at = now
            uow.events.record("lms_linked", now, student_id=student.id, external_id=identity.external_id)
            await uow.session.flush()
            await self.apply_lms_progress(uow, identity)
        return []

    def _question_at(self, index: int):  # type: ignore[no-untyped-def]
        questions = self.journey.questions
        return questions[index] if 0 <= index < len(questions) else None

    def _not_current(self, enrollment: Enrollment, index: int) -> Notice | None:
        """A press on a question that is not the one being asked: answered already, or from the past."""
        if enrollment.status is not EnrollmentStatus.ONBOARDING:
            return Notice(NoticeKey.ALREADY_ANSWERED)
        current = self.journey.next_question(enrollment.answers)
        if current is None or self.journey.questions.index(current) != index:
            return Notice(NoticeKey.ALREADY_ANSWERED)
        return None

    async def _record_answer(
        self,
        uow: UnitOfWork,
        enrollment: Enrollment,
        index: int,
        value: str | None,
        label: str | None,
        now: datetime,
    ) -> list[Decision]:
        question = self.journey.questions[index]
        # assign a new dict: JSON columns do not track in-place changes
        enrollment.answers = {**enrollment.answers, question.id: value}
        chosen = question.option(value) if value is not None and question.plan else None
        if chosen is not None and chosen.days:
            enrollment.study_days = ",".join(map(str, chosen.days))
        if chosen is not None and chosen.time:
            enrollment.study_time = chosen.time.strftime("%H:%M")
        if chosen is not None and chosen.timezone:
            student = await uow.students.get(enrollment.student_id)
            assert student is not None
            student.timezone = chosen.timezone  # reminders and quiet hours follow the student's clock
        uow.events.record(
            "survey_answered",
            now,
            student_id=enrollment.student_id,
            enrollment_id=enrollment.id,
            question=question.id,
            answer=value,
        )
        total = len(self.journey.questions)
        shown = label if label is not None or value is None else value
        decisions: list[Decision] = [AnswerRecorded(index, question, shown, total)]
        following = self.journey.next_question(enrollment.answers)
        if following is not None:
            decisions.append(AskQuestion(enrollment.id, self.journey.questions.index(following), following, total))
            return decisions
        return decisions + await self._assign_track(uow, enrollment, now)

    async def _assign_track(self, uow: UnitOfWork, enrollment: Enrollment, now: datetime) -> list[Decision]:
        track_id = self.journey.route(enrollment.answers)
        enrollment.track = track_id
        enrollment.onboarded_at = now
        enrollment.cohort_start = cohort_start(self.journey.spec.cohort, now, self.tz)
        enrollment.status = EnrollmentStatus.WAITING
        uow.events.record(
            "track_assigned",
            now,
            student_id=enrollment.student_id,
            enrollment_id=enrollment.id,
            track=track_id,
        )
        starts_later = enrollment.cohort_start > now
        starts_at = await self._local(uow, enrollment, enrollment.cohort_start) if starts_later else None
        decisions: list[Decision] = [TrackAssigned(self.journey.track(track_id), starts_at)]
        return decisions + await self._activate_if_due(uow, enrollment, now)

    async def _activate_if_due(self, uow: UnitOfWork, enrollment: Enrollment, now: datetime) -> list[Decision]:
        if enrollment.status is not EnrollmentStatus.WAITING:
            return []
        assert enrollment.cohort_start is not None
        if enrollment.cohort_start > now:
            return []
        enrollment.status = EnrollmentStatus.ACTIVE
        enrollment.started_at = now
        uow.events.record("started", now, student_id=enrollment.student_id, enrollment_id=enrollment.id)
        decisions = await self._current_step(uow, enrollment, now)
        student = await uow.students.get(enrollment.student_id)
        assert student is not None
        for listener in self.start_listeners:
            await listener.on_start(uow, student, enrollment, now)
        return decisions

    async def _local(self, uow: UnitOfWork, enrollment: Enrollment, moment: datetime) -> datetime:
        """The moment on the student's own clock (the zone they chose in the survey), for showing it to them."""
        student = await uow.students.get(enrollment.student_id)  # already in the session: no query
        return moment.astimezone(ZoneInfo(student.timezone) if student else self.tz)

    async def _resume(self, uow: UnitOfWork, enrollment: Enrollment, now: datetime) -> list[Decision]:
        status = enrollment.status
        if status is EnrollmentStatus.ONBOARDING:
            question = self.journey.next_question(enrollment.answers)
            if question is None:  # the journey file lost questions since: finish the survey
                return await self._assign_track(uow, enrollment, now)
            index = self.journey.questions.index(question)
            return [AskQuestion(enrollment.id, index, question, len(self.journey.questions))]
        if status is EnrollmentStatus.WAITING:
            activated = await self._activate_if_due(uow, enrollment, now)
            assert enrollment.cohort_start is not None
            return activated or [WaitingForStart(await self._local(uow, enrollment, enrollment.cohort_start))]
        if status is EnrollmentStatus.ACTIVE:
            return await self._current_step(uow, enrollment, now)
        completed = await uow.enrollments.completed_steps(enrollment.id)
        return [AlreadyCompleted(self._progress(enrollment, completed))]

    async def _current_step(self, uow: UnitOfWork, enrollment: Enrollment, now: datetime) -> list[Decision]:
        assert enrollment.track is not None
        completed = await uow.enrollments.completed_steps(enrollment.id)
        step = self.journey.next_step(enrollment.track, completed)
        if step is None:
            return await self._complete(uow, enrollment, completed, now)
        enrollment.current_step = step.id
        return [self._show(enrollment, step.id)]

    def _show(self, enrollment: Enrollment, step_id: str) -> ShowStep:
        assert enrollment.track is not None
        ids = list(self.journey.track(enrollment.track).steps)
        index = ids.index(step_id)
        step = self.journey.step(step_id)
        assert step is not None
        return ShowStep(enrollment.id, index, step, self.journey.stage_of(step_id), Progress(index + 1, len(ids)))

    async def _after_progress(
        self, uow: UnitOfWork, enrollment: Enrollment, step_id: str, source: str, now: datetime
    ) -> list[Decision]:
        enrollment.last_progress_at = now
        uow.events.record(
            "step_completed",
            now,
            student_id=enrollment.student_id,
            enrollment_id=enrollment.id,
            step=step_id,
            source=source,
        )
        if enrollment.status is not EnrollmentStatus.ACTIVE:
            return []  # LMS progress before the survey or the start is kept and counted later
        decisions = await self._current_step(uow, enrollment, now)
        student = await uow.students.get(enrollment.student_id)
        assert student is not None
        for listener in self.progress_listeners:
            await listener.on_progress(uow, student, enrollment, step_id, now)
        return decisions

    async def _complete(
        self, uow: UnitOfWork, enrollment: Enrollment, completed: set[str], now: datetime
    ) -> list[Decision]:
        enrollment.status = EnrollmentStatus.COMPLETED
        enrollment.completed_at = now
        enrollment.current_step = None
        uow.events.record("completed", now, student_id=enrollment.student_id, enrollment_id=enrollment.id)
        return [CourseCompleted(self.journey.spec.completion, self._progress(enrollment, completed))]

    def _progress(self, enrollment: Enrollment, completed: set[str]) -> Progress:
        if enrollment.track is None:
            return Progress(0, 0)
        total = len(self.journey.track(enrollment.track).steps)
        return Progress(self.journey.done_count(enrollment.track, completed), total)

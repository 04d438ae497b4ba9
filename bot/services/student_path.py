"""The student path as use cases: each call loads the enrollment, asks journeys/enrollment.py what happens,
stores the changed fields, records the events and commits, and returns the decisions for the adapter to render.
No Telegram types here, and no decisions: the status of an enrollment changes in journeys/enrollment.py only."""

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.db.models import Enrollment, ExternalIdentity, Student
from bot.db.uow import UnitOfWork, UnitOfWorkFactory
from bot.names import fit
from journeys import enrollment as rules
from journeys.catalog import Catalog, card
from journeys.clock import Clock
from journeys.cohort import CohortStarts
from journeys.decisions import (
    AlreadyCompleted,
    AskQuestion,
    CourseSwitched,
    Decision,
    Notice,
    NotSuited,
    StepAccepted,
    TrackAssigned,
    WaitingForStart,
)
from journeys.enrollment import EnrollmentState
from journeys.events import EventType
from journeys.journey import EnrollmentStatus, Journey
from journeys.notices import NoticeKey
from journeys.spec import NotAFit
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


class AnswerListener(Protocol):
    """Told after every recorded survey answer (the track may have been chosen with it), in the same transaction."""

    async def on_answer(self, uow: UnitOfWork, student: Student, enrollment: Enrollment, now: datetime) -> None: ...


def language_of(language_code: str | None) -> str:
    return "en" if (language_code or "").lower().startswith("en") else "ru"


class StudentPath:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        catalog: Catalog,
        clock: Clock,
        tz: ZoneInfo,
        *,
        progress_listeners: Sequence[ProgressListener] = (),
        start_listeners: Sequence[StartListener] = (),
        answer_listeners: Sequence[AnswerListener] = (),
    ) -> None:
        self._uow = uow_factory
        self.catalog = catalog
        self.clock = clock
        self.tz = tz
        self.progress_listeners = list(progress_listeners)
        self.start_listeners = list(start_listeners)
        self.answer_listeners = list(answer_listeners)

    # --- use cases -------------------------------------------------------------------------------

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
            answer = rules.press_answer(_state(owned), self._journey(owned), index, option)
            if isinstance(answer, Notice):
                return [answer]
            decisions = await self._record_answer(uow, owned, answer, now)
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
            taken = rules.typed_text(_state(enrollment), self._journey(enrollment), text)
            if isinstance(taken, rules.Answer):
                decisions = await self._record_answer(uow, enrollment, taken, now)
            elif isinstance(taken, rules.Resume):
                decisions = await self.pick_up(uow, enrollment, now)
            else:
                decisions = taken
            await uow.commit()
            return decisions

    async def complete_step(self, person: Person, enrollment_id: int, index: int) -> list[Decision]:
        async with self._uow() as uow:
            now = self.clock.now()
            owned = await self._owned(uow, person, enrollment_id, now)
            if isinstance(owned, Notice):
                return [owned]
            step = rules.press_done(_state(owned), self._journey(owned), index)
            if isinstance(step, Notice):
                return [step]
            if not await uow.enrollments.record_completion(owned.id, step.id, "bot", now):
                await uow.commit()
                return [Notice(NoticeKey.ALREADY_DONE)]
            decisions: list[Decision] = [StepAccepted(step)]
            decisions += await self._after_progress(uow, owned, step.id, "bot", now)
            await uow.commit()
            return decisions

    async def resume(self, person: Person, enrollment_id: int, *, switching: bool = False) -> list[Decision]:
        """Continue (under a step, a reminder, /progress) or a course picked in /courses (`switching`): that
        course becomes the current one and picks up where it was: the current question, the current step, or
        the cohort start."""
        async with self._uow() as uow:
            now = self.clock.now()
            owned = await self._owned(uow, person, enrollment_id, now)
            if isinstance(owned, Notice):
                return [owned]
            if owned.status is EnrollmentStatus.DROPPED:
                await uow.commit()
                return [Notice(NoticeKey.STALE)]
            student = await uow.students.get(owned.student_id)
            assert student is not None
            decisions: list[Decision] = []
            if switching:
                decisions.append(CourseSwitched(card(self._journey(owned))))
                if student.current_journey_id != owned.journey_id:
                    uow.events.record(EventType.COURSE_SWITCHED, now, student_id=student.id, enrollment_id=owned.id)
            student.current_journey_id = owned.journey_id
            decisions += await self.pick_up(uow, owned, now)
            await uow.commit()
            return decisions

    async def progress(self, person: Person) -> list[Decision]:
        async with self._uow() as uow:
            now = self.clock.now()
            enrollment = await self._current(uow, person, now)
            if enrollment is None:
                await uow.commit()
                return [Notice(NoticeKey.NOT_ENROLLED)]
            if refused := rules.progress_refused(_state(enrollment)):
                await uow.commit()
                return [refused, *await self.pick_up(uow, enrollment, now)]
            started: list[Decision] = []
            starts_at: datetime | None = None  # shown while the student waits for the cohort
            match await self._start_or_wait(uow, enrollment, now):
                case CohortStarts(at=at):
                    starts_at = await self._local(uow, enrollment, at)
                case activated:
                    started = activated
            completed = await uow.enrollments.completed_steps(enrollment.id)
            report = rules.progress_report(_state(enrollment), self._journey(enrollment), completed, starts_at)
            await uow.commit()
            return [report, *started]

    async def start_if_due(self, uow: UnitOfWork, enrollment: Enrollment) -> list[Decision]:
        """The scheduler's way in: a waiting enrollment whose cohort has started gets its first step."""
        started = await self._start_or_wait(uow, enrollment, self.clock.now())
        return [] if isinstance(started, CohortStarts) else started

    async def apply_lms_progress(self, uow: UnitOfWork, identity: ExternalIdentity) -> int:
        """Applies the LMS events waiting for this identity; returns how many steps were newly counted."""
        if identity.student_id is None:
            return 0
        # Lock the enrollment before inserting completions, in the same order as a Done press
        # (enrollment, then completion); the other order deadlocks on PostgreSQL when both count a step at once.
        if identity.journey_id not in self.catalog:
            return 0  # the school no longer runs it here: the events stay kept, unapplied
        enrollment = await uow.enrollments.current(identity.student_id, identity.journey_id, for_update=True)
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

    async def touch(self, uow: UnitOfWork, person: Person, now: datetime) -> Student:
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
        """The person's current enrollment (None before /start), after noting their activity."""
        return await self.current_enrollment(uow, await self.touch(uow, person, now))

    async def current_enrollment(self, uow: UnitOfWork, student: Student) -> Enrollment | None:
        """The enrollment in the journey the student chose last, else their latest in any journey the bot runs."""
        return await uow.enrollments.chosen(student, self.catalog.ids)

    def _journey(self, enrollment: Enrollment) -> Journey:
        # every way to an enrollment (_current_of, _owned) passes only those of the catalog's journeys
        return self.catalog[enrollment.journey_id]

    async def _owned(self, uow: UnitOfWork, person: Person, enrollment_id: int, now: datetime) -> Enrollment | Notice:
        student = await self.touch(uow, person, now)
        enrollment = await uow.enrollments.get(enrollment_id, for_update=True)
        if enrollment is None or enrollment.student_id != student.id:
            await uow.commit()
            return Notice(NoticeKey.NOT_YOURS)
        if enrollment.journey_id not in self.catalog:
            await uow.commit()
            return Notice(NoticeKey.COURSE_UNKNOWN)
        return enrollment

    async def enroll(self, uow: UnitOfWork, student: Student, journey: Journey, now: datetime) -> Enrollment:
        """A new enrollment in `journey`, onboarding; its LMS progress (reported before) is counted."""
        holdout = in_holdout(str(student.telegram_id), journey.id, journey.spec.schedule.holdout_percent)
        enrollment = await uow.enrollments.add(
            Enrollment(
                student_id=student.id,
                journey_id=journey.id,
                status=EnrollmentStatus.ONBOARDING,
                answers={},
                created_at=now,
                holdout=holdout,
            )
        )
        # the group is recorded with the enrollment, so metrics can compare nudged and held-out students
        uow.events.record(
            EventType.ENROLLED,
            now,
            student_id=student.id,
            enrollment_id=enrollment.id,
            holdout=holdout,
            journey=journey.id,
        )
        for identity in await uow.identities.for_student(student.id):
            if identity.journey_id == journey.id:
                await self.apply_lms_progress(uow, identity)
        return enrollment

    async def _record_answer(
        self, uow: UnitOfWork, enrollment: Enrollment, answer: rules.Answer, now: datetime
    ) -> list[Decision]:
        answered = rules.record_answer(_state(enrollment), self._journey(enrollment), answer)
        _store(enrollment, answered.state)
        if answered.timezone:
            student = await uow.students.get(enrollment.student_id)
            assert student is not None
            student.timezone = answered.timezone  # reminders and quiet hours follow the student's clock
        uow.events.record(
            EventType.SURVEY_ANSWERED,
            now,
            student_id=enrollment.student_id,
            enrollment_id=enrollment.id,
            question=answered.question.id,
            answer=answer.value,
        )
        decisions: list[Decision] = [answered.shown]
        if answered.ask_next is not None:
            decisions.append(answered.ask_next)
        else:
            decisions += await self._assign_track(uow, enrollment, now)
        if self.answer_listeners:
            student = await uow.students.get(enrollment.student_id)
            assert student is not None
            for listener in self.answer_listeners:
                await listener.on_answer(uow, student, enrollment, now)
        return decisions

    async def _assign_track(self, uow: UnitOfWork, enrollment: Enrollment, now: datetime) -> list[Decision]:
        journey = self._journey(enrollment)
        chosen = rules.assign_track(_state(enrollment), journey, now, self.tz)
        if isinstance(chosen, rules.FitRefused):
            _store(enrollment, chosen.state)
            uow.events.record(EventType.NOT_A_FIT, now, student_id=enrollment.student_id, enrollment_id=enrollment.id)
            return [self._not_suited(enrollment, chosen.verdict)]
        if not isinstance(chosen, rules.TrackChosen):
            return [chosen]  # only reached with the survey finished: cannot happen, and says so if it does
        _store(enrollment, chosen.state)
        uow.events.record(
            EventType.TRACK_ASSIGNED,
            now,
            student_id=enrollment.student_id,
            enrollment_id=enrollment.id,
            track=enrollment.track,
        )
        starts_at = await self._local(uow, enrollment, chosen.later.at) if chosen.later else None
        decisions: list[Decision] = [TrackAssigned(chosen.track, starts_at)]
        started = await self._start_or_wait(uow, enrollment, now)
        return decisions + ([] if isinstance(started, CohortStarts) else started)

    async def _start_or_wait(
        self, uow: UnitOfWork, enrollment: Enrollment, now: datetime
    ) -> list[Decision] | CohortStarts:
        """A waiting enrollment whose cohort has started becomes active (its first step, the listeners told);
        one still waiting gets when it starts. Any other: nothing to do."""
        started = rules.start_if_due(_state(enrollment), now)
        if not isinstance(started, rules.Started):
            return started or []
        _store(enrollment, started.state)
        uow.events.record(EventType.STARTED, now, student_id=enrollment.student_id, enrollment_id=enrollment.id)
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

    async def pick_up(self, uow: UnitOfWork, enrollment: Enrollment, now: datetime) -> list[Decision]:
        """Where the enrollment is: the next question, the track and start, the current step, or its end."""
        journey = self._journey(enrollment)
        match rules.resume(_state(enrollment), journey):
            case AskQuestion() as ask:
                return [ask]
            case rules.Resume.FINISH_SURVEY:
                return await self._assign_track(uow, enrollment, now)
            case rules.Resume.START_OR_WAIT:
                started = await self._start_or_wait(uow, enrollment, now)
                if isinstance(started, CohortStarts):
                    return [WaitingForStart(await self._local(uow, enrollment, started.at))]
                return started
            case rules.Resume.CURRENT_STEP:
                return await self._current_step(uow, enrollment, now)
            case rules.Resume.COMPLETED:
                completed = await uow.enrollments.completed_steps(enrollment.id)
                return [AlreadyCompleted(rules.progress_of(_state(enrollment), journey, completed))]
            case rules.Resume.NOT_A_FIT:
                verdict = journey.route(enrollment.answers)
                if isinstance(verdict, NotAFit):
                    return [self._not_suited(enrollment, verdict)]
                return [Notice(NoticeKey.NO_PROGRESS_NOT_A_FIT)]  # the file's rules changed since

    async def _current_step(self, uow: UnitOfWork, enrollment: Enrollment, now: datetime) -> list[Decision]:
        completed = await uow.enrollments.completed_steps(enrollment.id)
        journey = self._journey(enrollment)
        following = self.catalog.next_of(journey.id)
        next_stage = card(following) if following is not None else None
        advanced = rules.advance(_state(enrollment), journey, completed, now, next_stage)
        if advanced is None:
            return []
        _store(enrollment, advanced.state)
        if isinstance(advanced, rules.NextStep):
            return [advanced.show]
        uow.events.record(EventType.COMPLETED, now, student_id=enrollment.student_id, enrollment_id=enrollment.id)
        return [advanced.shown]

    async def _after_progress(
        self, uow: UnitOfWork, enrollment: Enrollment, step_id: str, source: str, now: datetime
    ) -> list[Decision]:
        counted = rules.count_progress(_state(enrollment), now)
        _store(enrollment, counted.state)
        uow.events.record(
            EventType.STEP_COMPLETED,
            now,
            student_id=enrollment.student_id,
            enrollment_id=enrollment.id,
            step=step_id,
            source=source,
        )
        if not counted.advances:
            return []  # LMS progress before the survey or the start is kept and counted later
        decisions = await self._current_step(uow, enrollment, now)
        student = await uow.students.get(enrollment.student_id)
        assert student is not None
        for listener in self.progress_listeners:
            await listener.on_progress(uow, student, enrollment, step_id, now)
        return decisions

    def _not_suited(self, enrollment: Enrollment, verdict: NotAFit) -> NotSuited:
        instead = self.catalog.get(verdict.journey)
        shown = card(instead) if instead is not None else None
        return NotSuited(enrollment.id, verdict.text, shown, verdict.consultation)


def _state(enrollment: Enrollment) -> EnrollmentState:
    """The row as journeys/enrollment.py sees it."""
    return EnrollmentState(
        id=enrollment.id,
        status=enrollment.status,
        answers=enrollment.answers,
        track=enrollment.track,
        cohort_start=enrollment.cohort_start,
        onboarded_at=enrollment.onboarded_at,
        started_at=enrollment.started_at,
        completed_at=enrollment.completed_at,
        current_step=enrollment.current_step,
        last_progress_at=enrollment.last_progress_at,
        study_days=enrollment.study_days,
        study_time=enrollment.study_time,
    )


def _store(enrollment: Enrollment, state: EnrollmentState) -> None:
    """Writes back the fields the domain changed (and only those, so unchanged columns stay clean)."""
    for f in fields(EnrollmentState):
        value = getattr(state, f.name)
        if value != getattr(enrollment, f.name):
            setattr(enrollment, f.name, dict(value) if f.name == "answers" else value)

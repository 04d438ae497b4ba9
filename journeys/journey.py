"""A loaded journey with the lookups the rest of the code needs."""

import re
from collections.abc import Mapping, Set
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from journeys.spec import JourneySpec, NotAFit, Question, Stage, Step, Track


class EnrollmentStatus(StrEnum):
    ONBOARDING = "onboarding"
    WAITING = "waiting_start"
    ACTIVE = "active"
    COMPLETED = "completed"
    NOT_A_FIT = "not_a_fit"  # the survey's fit check said the course does not suit the student
    DROPPED = "dropped"


SKIPPED = None  # the stored answer of an optional question the student skipped


class TextProblem(StrEnum):
    """Why a typed survey answer is refused."""

    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    PATTERN = "pattern"


@dataclass(frozen=True)
class TextCheck:
    ok: bool
    reason: TextProblem | None = None
    limit: int | None = None


class Journey:
    def __init__(self, spec: JourneySpec) -> None:
        self.spec = spec
        self._questions = {q.id: q for q in spec.survey.questions}
        self._steps: dict[str, Step] = {}
        self._stage_of: dict[str, Stage] = {}
        for stage in spec.stages:
            for step in stage.steps:
                self._steps[step.id] = step
                self._stage_of[step.id] = stage

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def questions(self) -> tuple[Question, ...]:
        return self.spec.survey.questions

    def question(self, question_id: str) -> Question | None:
        return self._questions.get(question_id)

    def next_question(self, answers: Mapping[str, Any]) -> Question | None:
        """The survey resumes at the first question without a stored answer."""
        return next((q for q in self.questions if q.id not in answers), None)

    def route(self, answers: Mapping[str, Any]) -> str | NotAFit:
        """The track the answers lead to, or the fit check's verdict that the course does not suit them."""
        for rule in self.spec.routing.rules:
            if rule.matches(answers):
                return rule.not_a_fit or rule.track or self.spec.routing.default
        return self.spec.routing.default

    def early_verdict(self, answers: Mapping[str, Any]) -> NotAFit | None:
        """The fit check decided before the survey ends: the rules, in order, up to the first one that still
        waits for an answer; a not_a_fit rule matched by then ends the survey (a track waits for all answers)."""
        for rule in self.spec.routing.rules:
            if any(question not in answers for question in rule.when):
                return None  # it may match once answered, and it comes first
            if rule.matches(answers):
                return rule.not_a_fit
        return None

    def track(self, track_id: str) -> Track:
        return self.spec.tracks[track_id]

    def has_track(self, track_id: str) -> bool:
        return track_id in self.spec.tracks

    def steps_of(self, track_id: str) -> list[Step]:
        return [self._steps[step_id] for step_id in self.spec.tracks[track_id].steps]

    def step(self, step_id: str) -> Step | None:
        return self._steps.get(step_id)

    def stage_of(self, step_id: str) -> Stage:
        return self._stage_of[step_id]

    def next_step(self, track_id: str, completed: Set[str]) -> Step | None:
        """Steps may be finished out of order (the LMS reports too): the next is the first one not done."""
        return next((s for s in self.steps_of(track_id) if s.id not in completed), None)

    def done_count(self, track_id: str, completed: Set[str]) -> int:
        return sum(1 for s in self.spec.tracks[track_id].steps if s in completed)


def check_text(question: Question, text: str) -> TextCheck:
    text = text.strip()
    if len(text) < question.min_length:
        return TextCheck(False, TextProblem.TOO_SHORT, question.min_length)
    if len(text) > question.max_length:
        return TextCheck(False, TextProblem.TOO_LONG, question.max_length)
    if question.pattern and not re.fullmatch(question.pattern, text):
        return TextCheck(False, TextProblem.PATTERN)
    return TextCheck(True)

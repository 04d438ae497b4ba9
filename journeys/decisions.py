"""What the student path decided to say. The Telegram adapter renders these; the domain never sends."""

from dataclasses import dataclass
from datetime import datetime

from journeys.journey import EnrollmentStatus, TextProblem
from journeys.notices import NoticeKey
from journeys.progress import Progress
from journeys.spec import Nudge, Question, Reward, Stage, Step, Track


@dataclass(frozen=True)
class Welcome:
    text: str
    survey_intro: str | None


@dataclass(frozen=True)
class AskQuestion:
    enrollment_id: int
    index: int
    question: Question
    total: int


@dataclass(frozen=True)
class AnswerRecorded:
    """Shown in place of the question's buttons, so old buttons cannot be pressed again."""

    index: int
    question: Question
    answer: str | None  # None: skipped
    total: int


@dataclass(frozen=True)
class UseButtons:
    question: Question


@dataclass(frozen=True)
class TextRejected:
    question: Question
    reason: TextProblem
    limit: int | None


@dataclass(frozen=True)
class TrackAssigned:
    track: Track
    starts_at: datetime | None  # on the student's clock; None: steps are open now


@dataclass(frozen=True)
class WaitingForStart:
    starts_at: datetime  # on the student's clock


@dataclass(frozen=True)
class ShowStep:
    enrollment_id: int
    index: int
    step: Step
    stage: Stage
    progress: Progress  # position of this step: «Шаг 3 из 8»


@dataclass(frozen=True)
class StepAccepted:
    """The Done button of this step was pressed for the first time."""

    step: Step


@dataclass(frozen=True)
class CourseCard:
    """A journey of the catalog as a student sees it listed."""

    journey_id: str
    title: str
    summary: str | None
    open: bool  # anyone may start it; otherwise it comes with a purchase (or the school's LMS)


@dataclass(frozen=True)
class CourseCompleted:
    text: str
    progress: Progress
    next_stage: CourseCard | None = None  # the journey the file names as `next:`, the natural upsell


@dataclass(frozen=True)
class AlreadyCompleted:
    progress: Progress


@dataclass(frozen=True)
class ProgressReport:
    enrollment_id: int
    status: EnrollmentStatus
    progress: Progress
    next_step: Step | None
    starts_at: datetime | None  # on the student's clock
    track: Track | None


@dataclass(frozen=True)
class NotSuited:
    """The fit check: the course does not suit the student's answers; what they may do instead."""

    enrollment_id: int
    text: str
    instead: CourseCard | None  # another journey of the catalog
    consultation: bool  # a free consultation: the next message goes to a curator


# --- the catalog: several journeys in one bot ---


@dataclass(frozen=True)
class ShowCatalog:
    """The journeys a student may start, for a plain /start when there is more than one."""

    courses: tuple[CourseCard, ...]


@dataclass(frozen=True)
class CourseLocked:
    """A journey that is not open to start by oneself (a paid next stage) and the student has no access to."""

    course: CourseCard


@dataclass(frozen=True)
class EnrolledCourse:
    enrollment_id: int
    course: CourseCard
    status: EnrollmentStatus
    progress: Progress
    current: bool  # the one the step buttons, free text and /progress act on


@dataclass(frozen=True)
class CourseList:
    """/courses: the student's enrollments with their trackers, and the open journeys not started yet."""

    enrolled: tuple[EnrolledCourse, ...]
    more: tuple[CourseCard, ...]


@dataclass(frozen=True)
class CourseSwitched:
    course: CourseCard


@dataclass(frozen=True)
class Notice:
    """A short system message or button answer; bot/render.py has the text of each key."""

    key: NoticeKey


# --- engagement: what the nudge ladder and the milestones say (journeys/nudges.py, journeys/rewards.py) ---


@dataclass(frozen=True)
class ShowNudge:
    """A reminder of the nudge ladder, with where the student stands and what comes next."""

    enrollment_id: int
    nudge: Nudge
    progress: Progress
    next_step: Step | None
    offer_curator: bool  # a "write to a curator" button


@dataclass(frozen=True)
class RewardEarned:
    """A milestone reached: its reward message (and media) goes once per enrollment."""

    reward: Reward


Decision = (
    Welcome
    | AskQuestion
    | AnswerRecorded
    | UseButtons
    | TextRejected
    | TrackAssigned
    | WaitingForStart
    | ShowStep
    | StepAccepted
    | CourseCompleted
    | AlreadyCompleted
    | ProgressReport
    | Notice
    | NotSuited
    | ShowCatalog
    | CourseLocked
    | CourseList
    | CourseSwitched
    | ShowNudge
    | RewardEarned
)

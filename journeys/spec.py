"""Typed model of a journey file (format 1).

Parsing checks shapes and unknown keys; `references.py` then checks that ids point at things that exist.
"""

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from datetime import time as Time
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    field_validator,
)

from journeys.durations import MAX_DURATION, format_duration, parse_duration, within_bounds
from journeys.telegram_html import HtmlError, plain_text

FORMAT_VERSION = 1
MAX_PATTERN_LENGTH = 200  # answers are matched against it on every message: keep it a validation, not a program
_WEB_URL = re.compile(r"https?://[^\s/?#]+\S*")  # Telegram refuses a URL without a host or with spaces
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


def _bounded(value: timedelta) -> timedelta:
    if not timedelta(0) <= value <= MAX_DURATION:
        raise ValueError(f"{format_duration(value)} is out of range: {within_bounds()}")
    return value


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than 0s")
    return value


def _time_of_day(value: object) -> object:
    if isinstance(value, Time):
        return value
    if isinstance(value, int | float):  # YAML 1.1 reads an unquoted 10:00 as 600 (base 60)
        raise ValueError('write times in quotes, e.g. "10:00": unquoted, YAML reads them as numbers')
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f'{value!r} is not a time of day: write it as "HH:MM", e.g. "10:00"')
    return Time(int(match[1]), int(match[2]))


def _web_url(value: str) -> str:
    if not _WEB_URL.fullmatch(value):
        raise ValueError(f"{value!r} is not a web address: write it as https://host/path, without spaces")
    return value


def _telegram_html(value: str) -> str:
    """Every text below is sent with parse_mode HTML as written (render.py adds only its own escaped parts)."""
    try:
        shown = plain_text(value)
    except HtmlError as exc:
        raise ValueError(f"not valid Telegram HTML: {exc}") from None
    if not shown.strip():
        raise ValueError("has no visible text: Telegram refuses an empty message")
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(lambda v: v if isinstance(v, timedelta) else parse_duration(v)),
    AfterValidator(_bounded),
    PlainSerializer(format_duration, return_type=str),
]
PositiveDuration = Annotated[Duration, AfterValidator(_positive)]
TimeOfDay = Annotated[Time, BeforeValidator(_time_of_day)]
HtmlText = Annotated[str, AfterValidator(_telegram_html)]
Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(Strict):
    id: Identifier
    text: str = Field(min_length=1, max_length=64)
    days: tuple[Annotated[int, Field(ge=1, le=7)], ...] | None = Field(default=None, min_length=1)  # ISO, 1 = Monday
    time: TimeOfDay | None = None  # planning: local time of day to study
    timezone: str | None = None  # planning: the student's IANA time zone, e.g. Asia/Yekaterinburg

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r}") from None
        return value


class QuestionKind(StrEnum):
    CHOICE = "choice"
    TEXT = "text"


class PlanPart(StrEnum):
    DAYS = "days"
    TIME = "time"
    TIMEZONE = "timezone"


class Question(Strict):
    id: Identifier
    text: HtmlText = Field(min_length=1, max_length=1000)
    plan: PlanPart | None = None  # the answer sets the days or the time reminders come at
    options: tuple[Option, ...] = ()
    input: QuestionKind = QuestionKind.CHOICE
    required: bool = True
    min_length: int = Field(default=1, ge=0)
    max_length: int = Field(default=500, ge=1, le=4000)
    pattern: str | None = Field(default=None, max_length=MAX_PATTERN_LENGTH)
    error: HtmlText | None = Field(default=None, max_length=1000)  # shown when free text fails validation

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except (re.error, OverflowError, RecursionError) as exc:  # a{4294967296}, groups nested too deep
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    @property
    def is_choice(self) -> bool:
        return self.input is QuestionKind.CHOICE

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)


class Survey(Strict):
    intro: HtmlText | None = Field(default=None, max_length=1000)  # sent with the welcome, in one message
    questions: tuple[Question, ...] = Field(min_length=1)


class NotAFit(Strict):
    """The fit check: the course does not suit these answers. Said instead of assigning a track, with a way on."""

    text: HtmlText = Field(min_length=1, max_length=3000)
    journey: Identifier | None = None  # another journey of the catalog to offer instead
    consultation: bool = False  # offer a free consultation: the student's next message goes to a curator


class Rule(Strict):
    track: Identifier | None = None
    not_a_fit: NotAFit | None = None  # instead of a track: the survey ends here
    when: dict[str, tuple[str, ...]] = Field(min_length=1)

    def matches(self, answers: Mapping[str, Any]) -> bool:
        return all(answers.get(question) in accepted for question, accepted in self.when.items())


class Routing(Strict):
    rules: tuple[Rule, ...] = ()
    default: Identifier


class MediaKind(StrEnum):
    PHOTO = "photo"
    VIDEO = "video"
    DOCUMENT = "document"
    ANIMATION = "animation"


class Media(Strict):
    kind: MediaKind
    url: str

    @field_validator("url")
    @classmethod
    def _reachable(cls, value: str) -> str:
        return value if value.startswith("file:") and len(value) > 5 else _web_url(value)


class Link(Strict):
    text: str = Field(min_length=1, max_length=64)
    url: Annotated[str, AfterValidator(_web_url)]


class Step(Strict):
    id: Identifier
    title: str = Field(min_length=1, max_length=120)
    text: HtmlText = Field(min_length=1, max_length=3500)
    media: Media | None = None
    link: Link | None = None
    button: str | None = Field(default=None, max_length=40)


class Stage(Strict):
    id: Identifier
    title: str = Field(min_length=1, max_length=120)  # shown above each step, in the same message
    steps: tuple[Step, ...] = Field(min_length=1)


class Stall(Strict):
    """When a student counts as stalled: idle this long, or this many steps behind the expected pace."""

    idle: PositiveDuration = timedelta(days=7)
    behind: int = Field(default=2, ge=1, le=1000)


class Track(Strict):
    title: str = Field(min_length=1, max_length=120)
    intro: HtmlText | None = Field(default=None, max_length=1000)  # said once when the track is assigned
    steps: tuple[str, ...] = Field(min_length=1)
    stall: Stall | None = None  # overrides the journey's thresholds for this track


class Nudge(Strict):
    after: PositiveDuration  # idle time since the last progress (or the start)
    text: HtmlText = Field(min_length=1, max_length=3000)
    offer_curator: bool = False  # adds a "write to a curator" button


class RewardTrigger(Strict):
    after_step: str | None = None
    at_percent: int | None = Field(default=None, ge=1, le=100)
    after_stage: str | None = None


class Reward(Strict):
    id: Identifier
    when: RewardTrigger
    text: HtmlText = Field(min_length=1, max_length=3000)
    link: Link | None = None
    media: Media | None = None
    from_curator: bool = False


# --- after the course: offers and outcome check-ins (journeys/offers.py, journeys/checkins.py decide on them) ---

MAX_STARS = 10_000  # Telegram's ceiling for one Stars payment
_MOMENT_FORM = "write it with its offset, e.g. 2026-12-31T23:59:00+03:00"


def _aware_moment(value: object) -> object:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a date and time: {_MOMENT_FORM}") from None
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{value.isoformat()} has no UTC offset: {_MOMENT_FORM}")
        return value
    if isinstance(value, date):  # a bare date leaves open which midnight, in which zone
        raise ValueError(f"{value.isoformat()} is a date without a time: {_MOMENT_FORM}")
    raise ValueError(f"expected a date and time, not {type(value).__name__}: {_MOMENT_FORM}")


Moment = Annotated[datetime, BeforeValidator(_aware_moment)]
WebUrl = Annotated[str, AfterValidator(_web_url)]


class GrantKind(StrEnum):
    JOURNEY = "journey"  # an enrollment in another journey of the catalog
    MENTOR = "mentor_days"
    FILE = "file"
    LINK = "link"
    CLUB = "club"


class OfferGrant(Strict):
    """What buying gives: exactly one of these (the loader checks)."""

    journey: Identifier | None = None
    mentor_days: int | None = Field(default=None, ge=1, le=366)
    file: str | None = None  # sent after purchase: an https address or file:path, like Media
    link: Link | None = None
    club: Literal[True] | None = None

    @field_validator("file")
    @classmethod
    def _reachable(cls, value: str | None) -> str | None:
        return value if value is None or (value.startswith("file:") and len(value) > 5) else _web_url(value)

    @property
    def kinds(self) -> tuple[GrantKind, ...]:
        # each kind's value is the name of its key here
        return tuple(kind for kind in GrantKind if getattr(self, kind.value) is not None)

    @property
    def kind(self) -> GrantKind:
        return self.kinds[0]


class OfferPrice(Strict):
    stars: int | None = Field(default=None, ge=1, le=MAX_STARS)
    checkout_url: WebUrl | None = None  # the school's own checkout page

    @field_validator("checkout_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError("a checkout page must be https://: students type card details there")
        return value


class OfferTrigger(Strict):
    after_step: str | None = None
    after_stage: str | None = None
    at_percent: int | None = Field(default=None, ge=1, le=100)
    on_completion: Literal[True] | None = None
    days_after_completion: Duration | None = None
    on_answer: dict[str, tuple[str, ...]] | None = Field(default=None, min_length=1)  # survey or check-in answers

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(name for name in OfferTrigger.model_fields if getattr(self, name) is not None)


class OfferButtons(Strict):
    """Button texts; each one left out comes from the bot's translations."""

    buy: str | None = Field(default=None, min_length=1, max_length=64)  # pay in Stars
    checkout: str | None = Field(default=None, min_length=1, max_length=64)  # the school's checkout page
    lead: str | None = Field(default=None, min_length=1, max_length=64)  # talk to a curator
    dismiss: str | None = Field(default=None, min_length=1, max_length=64)  # "not now": never shown again


class Offer(Strict):
    id: Identifier
    text: HtmlText = Field(min_length=1, max_length=3000)
    media: Media | None = None
    link: Link | None = None
    grants: OfferGrant | None = None  # a lead may leave it out ("book a free consultation")
    price: OfferPrice | None = None
    lead: bool = False  # a sales lead for the curators instead of a sale
    when: OfferTrigger
    tracks: tuple[Identifier, ...] | None = Field(default=None, min_length=1)  # only these tracks
    deadline: Moment | None = None  # neither shown nor sold from this moment on
    deadline_reminder: PositiveDuration | None = None  # one reminder this long before the deadline
    reminder_text: HtmlText | None = Field(default=None, max_length=1000)
    holdout_percent: int = Field(default=0, ge=0, le=100)  # a stable share of enrollments never sees it
    buttons: OfferButtons = OfferButtons()


class Checkin(Strict):
    """Outcome questions some time after completion; answers are stored with the survey's."""

    id: Identifier
    after: PositiveDuration  # after completion
    intro: HtmlText | None = Field(default=None, max_length=1000)
    questions: tuple[Question, ...] = Field(min_length=1)


# --- feedback: lesson ratings, CSAT, NPS, curator ratings (journeys/feedback*.py decide on them) ---


class RatingScale(StrEnum):
    FIVE = "1-5"  # 1 worst, 5 best
    THUMBS = "thumbs"  # 👎 is 0, 👍 is 1
    NPS = "0-10"  # how likely to recommend: 0 not at all, 10 surely


def _all_or_ids(value: object) -> object:
    if value == "all":
        return "all"
    if isinstance(value, list | tuple) and value and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ValueError("write all, or a list of at least one id")


AllOrIds = Annotated[Literal["all"] | tuple[str, ...], PlainValidator(_all_or_ids)]


class LessonRatings(Strict):
    """A one-tap rating under the Done confirmation of these steps (never a message of its own)."""

    steps: AllOrIds = "all"
    scale: RatingScale = RatingScale.FIVE
    text: HtmlText = Field(min_length=1, max_length=1000)  # placeholders: {step}, {stage}, {journey}

    @field_validator("scale")
    @classmethod
    def _lesson_scale(cls, value: RatingScale) -> RatingScale:
        if value is RatingScale.NPS:
            raise ValueError('a lesson is rated "1-5" or thumbs; 0-10 is the NPS scale')
        return value


class StageRatings(Strict):
    """CSAT (1-5) when the student has done every step of one of these stages on their track."""

    stages: AllOrIds = "all"
    text: HtmlText = Field(min_length=1, max_length=1000)  # placeholders: {stage}, {journey}
    comment: bool = False  # after a score that is not low, offer an optional comment too
    comment_text: HtmlText | None = Field(default=None, max_length=1000)  # else the bot's own words


class NpsSurvey(Strict):
    """How likely the student is to recommend the course (0-10), at completion and/or some time after it."""

    text: HtmlText = Field(min_length=1, max_length=1000)  # placeholder: {journey}
    at_completion: bool = True
    later: PositiveDuration | None = None  # asked again this long after completion


class CuratorRating(Strict):
    """A rating (1-5) of the curator who resolved the student's alert or question."""

    text: HtmlText = Field(min_length=1, max_length=1000)  # placeholders: {curator}, {journey}


class Feedback(Strict):
    lessons: LessonRatings | None = None
    stages: StageRatings | None = None
    nps: NpsSurvey | None = None
    curator: CuratorRating | None = None
    reminder: PositiveDuration = timedelta(days=2)  # one reminder this long after an unanswered question
    what_went_wrong: HtmlText | None = Field(default=None, max_length=1000)  # after a low score; else the bot's
    review_link: Link | None = None  # offered to promoters (NPS 9-10)
    review_text: HtmlText | None = Field(default=None, max_length=1000)  # above the review link
    promoter_offer: Identifier | None = None  # an offer of this journey shown to promoters


class Schedule(Strict):
    quiet_hours: str | None = Field(default="22:00-09:00", pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$")
    weekly_cap: int | None = Field(default=3, ge=1, le=100)  # proactive messages a week per student, rewards excepted
    holdout_percent: int = Field(default=0, ge=0, le=100)  # kept out of nudges to measure their effect

    @field_validator("quiet_hours")
    @classmethod
    def _times(cls, value: str | None) -> str | None:
        if value is not None:
            for part in value.split("-"):
                hours, minutes = map(int, part.split(":"))
                if hours > 23 or minutes > 59:
                    raise ValueError(f"{part} is not a time of day")
        return value


class CohortSchedule(StrEnum):
    IMMEDIATE = "immediate"
    FIRST_MONDAY = "first_monday_monthly"


class Cohort(Strict):
    schedule: CohortSchedule = CohortSchedule.IMMEDIATE
    # an enrollment closer than this to a start joins the next one
    cutoff: Duration = timedelta(days=7)
    time: TimeOfDay = Time(10, 0)


class Access(StrEnum):
    OPEN = "open"  # anyone may start it: a plain /start, its deep link, the catalog
    GRANTED = "granted"  # only through a grant: a purchase, the LMS enrollment API


class JourneySpec(Strict):
    format: Literal[1]
    id: Identifier
    title: str = Field(min_length=1, max_length=200)
    summary: HtmlText | None = Field(default=None, max_length=500)  # one line in the catalog
    access: Access = Access.OPEN
    next: Identifier | None = None  # the journey that follows this one: the paid next stage
    language: str = Field(default="ru", pattern=r"^[a-z]{2}$")
    welcome: HtmlText = Field(min_length=1, max_length=3000)
    completion: HtmlText = Field(min_length=1, max_length=3000)
    pace: PositiveDuration = timedelta(weeks=1)
    cohort: Cohort = Cohort()
    survey: Survey
    routing: Routing
    stages: tuple[Stage, ...] = Field(min_length=1)
    tracks: dict[Identifier, Track] = Field(min_length=1)
    schedule: Schedule = Schedule()
    stall: Stall = Stall()
    nudges: tuple[Nudge, ...] = ()
    rewards: tuple[Reward, ...] = ()
    offers: tuple[Offer, ...] = ()
    checkins: tuple[Checkin, ...] = ()
    feedback: Feedback | None = None

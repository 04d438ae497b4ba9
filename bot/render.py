"""Turns the path's decisions into Telegram messages in the student's language."""

from collections.abc import Awaitable, Sequence
from datetime import datetime, tzinfo
from html import escape
from typing import assert_never

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from babel.dates import format_datetime

from bot import keyboards
from bot.i18n import Translator
from bot.outbox.messages import Out
from bot.telegram_errors import TelegramFailure, classify
from journeys.decisions import (
    AlreadyCompleted,
    AnswerRecorded,
    AskQuestion,
    CourseCard,
    CourseCompleted,
    CourseList,
    CourseLocked,
    CourseSwitched,
    Decision,
    EnrolledCourse,
    Notice,
    NotSuited,
    ProgressReport,
    RewardEarned,
    ShowCatalog,
    ShowNudge,
    ShowStep,
    StepAccepted,
    TextRejected,
    TrackAssigned,
    UseButtons,
    WaitingForStart,
    Welcome,
)
from journeys.journey import EnrollmentStatus, TextProblem
from journeys.notices import NoticeKey
from journeys.progress import Progress


def N_(message: str) -> str:
    """Marks a text for the catalog extractor; it is translated where it is shown."""
    return message


def notice_msgid(key: NoticeKey) -> str:
    """Short answers to a button press (answerCallbackQuery) and one-line notices, untranslated.

    A match rather than a dict, so that mypy --strict refuses a NoticeKey without a text.
    """
    match key:
        case NoticeKey.ALREADY_DONE:
            return N_("Already counted ✓")
        case NoticeKey.ALREADY_ANSWERED:
            return N_("You have already answered this question.")
        case NoticeKey.STALE:
            return N_("This button is no longer active.")
        case NoticeKey.NOT_YOURS:
            return N_("This button is not yours.")
        case NoticeKey.NOT_ENROLLED:
            return N_("Send /start to begin.")
        case NoticeKey.FALLBACK:
            return N_("I did not catch that. /progress shows where you are, /help lists what I can do.")
        case NoticeKey.LINK_UNKNOWN:
            return N_("This start link is not valid, but you can still take the course here.")
        case NoticeKey.LINK_USED:
            return N_("This start link was already used by another account. Ask your school for a new one.")
        case NoticeKey.SURVEY_FIRST:
            return N_("Let's finish the short survey first.")
        case NoticeKey.NO_PROGRESS_NOT_A_FIT:
            return N_(
                "This course does not suit your answers, so there is no progress to show. /courses lists the others."
            )
        case NoticeKey.COURSE_UNKNOWN:
            return N_("This course is not offered here (any more). /courses shows what is.")
    assert_never(key)


def notice_text(key: NoticeKey, t: Translator) -> str:
    return t(notice_msgid(key))


def tracker(progress: Progress, t: Translator) -> str:
    return t("Step {n} of {total}", n=progress.done, total=progress.total) + f" {progress.bar()} {progress.percent}%"


def done_tracker(progress: Progress, t: Translator) -> str:
    return t("Done {n} of {total}", n=progress.done, total=progress.total) + f" {progress.bar()} {progress.percent}%"


def when(moment: datetime, t: Translator, tz: tzinfo | None) -> str:
    """The moment as people read it, on the clock of `tz` (None: the moment's own zone)."""
    return format_datetime(moment, "d MMMM, HH:mm", tzinfo=tz, locale=t.language)


def question_text(index: int, total: int, text: str, t: Translator) -> str:
    return t("Question {n} of {total}", n=index + 1, total=total) + f"\n<b>{text}</b>"


class Composer:
    """Decisions → messages as data, in one language. Used for replies and for queued messages alike."""

    def __init__(self, t: Translator) -> None:
        self.t = t

    def compose(self, decisions: Sequence[Decision]) -> list[Out]:
        return [out for decision in decisions for out in self.outs(decision)]

    def _answered(self, decision: AnswerRecorded) -> str:
        shown = escape(decision.answer) if decision.answer is not None else self.t("skipped")
        return question_text(decision.index, decision.total, decision.question.text, self.t) + f"\n\n✓ {shown}"

    def outs(self, decision: Decision) -> list[Out]:
        """The messages a decision becomes, as data: sent now, or queued in the outbox."""
        t = self.t
        match decision:
            case Welcome(text=text, survey_intro=intro):
                parts = [text.strip(), (intro or "").strip()]
                return [Out.text("\n\n".join(part for part in parts if part))]
            case AskQuestion():
                text = question_text(decision.index, decision.total, decision.question.text, t)
                return [Out.text(text, keyboards.question_keyboard(decision, t))]
            case AnswerRecorded():
                return [Out.text(self._answered(decision))]
            case UseButtons():
                return [Out.text(t("Please choose one of the buttons under the question."))]
            case TextRejected(question=question, reason=reason, limit=limit):
                if question.error:
                    return [Out.text(question.error)]
                return [Out.text(self._rejected(reason, limit))]
            case TrackAssigned(track=track, starts_at=starts_at):
                lines = [t("Your track: <b>{title}</b>", title=escape(track.title))]
                if track.intro:
                    lines.append(track.intro.strip())
                if starts_at:
                    lines.append(self._starts(starts_at))
                return [Out.text("\n\n".join(lines))]
            case WaitingForStart(starts_at=starts_at):
                return [Out.text(self._starts(starts_at))]
            case ShowStep():
                return self._step(decision)
            case StepAccepted():
                return []  # shown on the pressed message itself
            case CourseCompleted(text=text, progress=progress, next_stage=next_stage):
                markup = keyboards.next_stage_keyboard(next_stage, t) if next_stage else None
                return [Out.text(f"{text.strip()}\n\n{done_tracker(progress, t)}", markup)]
            case AlreadyCompleted(progress=progress):
                return [Out.text(t("You have completed the course. 🎉") + f"\n{done_tracker(progress, t)}")]
            case ProgressReport():
                return [self._progress(decision)]
            case Notice(key=key):
                return [Out.text(notice_text(key, t))]
            case NotSuited(text=text):
                return [Out.text(text.strip(), keyboards.not_suited_keyboard(decision, t))]
            case ShowCatalog(courses=courses):
                lines = [t("Which course would you like to take?"), *map(self._card, courses)]
                if not courses:
                    lines = [t("The school opens its courses through your personal link: ask the school for one.")]
                return [Out.text("\n\n".join(lines), keyboards.catalog_keyboard(courses))]
            case CourseLocked(course=course):
                lines = [
                    self._card(course),
                    t("This course opens with a purchase; I will tell you when it is offered."),
                ]
                return [Out.text("\n\n".join(lines))]
            case CourseList():
                return [self._courses(decision)]
            case CourseSwitched(course=course):
                return [Out.text(t("Now on: <b>{title}</b>", title=escape(course.title)))]
            case ShowNudge():
                return [self._nudge(decision)]
            case RewardEarned():
                return self._reward(decision)
        raise AssertionError(f"no rendering for {decision!r}")

    @staticmethod
    def _card(course: CourseCard) -> str:
        title = f"<b>{escape(course.title)}</b>"
        return f"{title}\n{course.summary.strip()}" if course.summary else title

    def _courses(self, listed: CourseList) -> Out:
        t = self.t
        lines = [t("Your courses:")] if listed.enrolled else [t("You have no courses yet.")]
        for entry in listed.enrolled:
            mark = "👉 " if entry.current else ""
            lines.append(f"{mark}<b>{escape(entry.course.title)}</b>\n{self._course_state(entry)}")
        if listed.more:
            lines.append(t("Also open to you:") + "\n" + "\n".join(f"• {escape(c.title)}" for c in listed.more))
        return Out.text("\n\n".join(lines), keyboards.courses_keyboard(listed, t))

    def _course_state(self, entry: EnrolledCourse) -> str:
        match entry.status:
            case EnrollmentStatus.ONBOARDING:
                return self.t("the survey is not finished")
            case EnrollmentStatus.WAITING:
                return self.t("waiting for the group to start")
            case EnrollmentStatus.NOT_A_FIT:
                return self.t("does not suit your answers")
            case EnrollmentStatus.COMPLETED:
                return self.t("completed 🎉") + f" {done_tracker(entry.progress, self.t)}"
            case _:
                return done_tracker(entry.progress, self.t)

    def _nudge(self, show: ShowNudge) -> Out:
        lines = [show.nudge.text.strip(), "", done_tracker(show.progress, self.t)]
        if show.next_step is not None:
            lines.append(self.t("Next: <b>{title}</b>", title=escape(show.next_step.title)))
        markup = keyboards.nudge_keyboard(show.enrollment_id, self.t, offer_curator=show.offer_curator)
        return Out.text("\n".join(lines), markup)

    def _reward(self, earned: RewardEarned) -> list[Out]:
        reward = earned.reward
        outs = []
        if reward.media:
            outs.append(Out.media(f"send_{reward.media.kind.value}", reward.media.url))
        text = reward.text.strip()
        if reward.from_curator:
            text = self.t("💬 From your curator:") + "\n" + text
        markup = keyboards.link_keyboard(reward.link.text, reward.link.url) if reward.link else None
        outs.append(Out.text(text, markup))
        return outs

    def _rejected(self, reason: TextProblem, limit: int | None) -> str:
        match reason:
            case TextProblem.TOO_SHORT:
                return self.t("Too short: please write at least {limit} characters.", limit=limit)
            case TextProblem.TOO_LONG:
                return self.t("Too long: please keep it under {limit} characters.", limit=limit)
            case TextProblem.PATTERN:
                return self.t("That does not look right, please try again.")
        assert_never(reason)

    def _starts(self, starts_at: datetime) -> str:
        date = when(starts_at, self.t, None)  # decisions give it on the student's own clock
        return self.t("Your group starts on {date}. I will send the first step then.", date=date)

    def _step(self, show: ShowStep) -> list[Out]:
        step = show.step
        outs = []
        if step.media:
            outs.append(Out.media(f"send_{step.media.kind.value}", step.media.url, f"<b>{escape(step.title)}</b>"))
        text = (
            f"<i>{escape(show.stage.title)}</i>\n<b>{escape(step.title)}</b>\n\n{step.text.strip()}\n\n"
            f"{tracker(show.progress, self.t)}"
        )
        outs.append(Out.text(text, keyboards.step_keyboard(show, self.t)))
        return outs

    def _progress(self, report: ProgressReport) -> Out:
        t = self.t
        lines = []
        if report.track:
            lines.append(t("Your track: <b>{title}</b>", title=escape(report.track.title)))
        lines.append(done_tracker(report.progress, t))
        markup = None
        if report.starts_at:
            lines.append(self._starts(report.starts_at))
        elif report.next_step:
            lines.append(t("Next: <b>{title}</b>", title=escape(report.next_step.title)))
            markup = keyboards.continue_keyboard(report.enrollment_id, t)
        return Out.text("\n".join(lines), markup)


class Renderer(Composer):
    """Replies to what a person just did, sent at once."""

    def __init__(self, bot: Bot, t: Translator) -> None:
        super().__init__(t)
        self.bot = bot

    async def send(self, chat_id: int, decisions: Sequence[Decision]) -> None:
        for decision in decisions:
            for out in self.outs(decision):
                await out.deliver(self.bot, chat_id)

    async def answer_press(self, query: CallbackQuery, decisions: Sequence[Decision]) -> None:
        """A button press: notices answer the press, the pressed message is updated, the rest is sent."""
        notice = next((d for d in decisions if isinstance(d, Notice)), None)
        accepted = any(isinstance(d, StepAccepted) for d in decisions)
        answer = notice_text(notice.key, self.t) if notice else (self.t("Counted ✓") if accepted else None)
        await query.answer(answer)
        message = query.message if isinstance(query.message, Message) else None
        rest: list[Decision] = []
        for decision in decisions:
            if isinstance(decision, Notice):
                continue
            if message and isinstance(decision, AnswerRecorded):
                await self._update_pressed(message.edit_text(self._answered(decision), reply_markup=None))
            elif message and isinstance(decision, StepAccepted):
                await self._update_pressed(message.edit_reply_markup(reply_markup=self._without_done(message)))
            else:
                rest.append(decision)
        if rest and query.from_user:
            await self.send(query.from_user.id, rest)

    @staticmethod
    async def _update_pressed(edit: Awaitable[object]) -> None:
        """Updating the pressed message is a courtesy: the press counted even if there is nothing to update.

        A forged press (data from another message) leaves the pressed one as it was, and it may be deleted.
        """
        try:
            await edit
        except TelegramBadRequest as error:
            if classify(error) not in (TelegramFailure.NOT_MODIFIED, TelegramFailure.MESSAGE_GONE):
                raise

    @staticmethod
    def _without_done(message: Message) -> InlineKeyboardMarkup | None:
        # keep the step's link, drop the Done button that was just pressed
        markup = message.reply_markup
        if markup is None:
            return None
        rows = [[b for b in row if b.url] for row in markup.inline_keyboard]
        rows = [row for row in rows if row]
        return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None

"""The wizard's first step: the segment menu, its filters as buttons, and what a press on one changes."""

from datetime import datetime
from html import escape

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.broadcasts.callbacks import WizardAction, WizardButton, button
from bot.broadcasts.content import MenuPage, content_of
from bot.broadcasts.drafts import segment_of
from bot.broadcasts.service import BroadcastService
from bot.db.models import Broadcast
from bot.db.uow import UnitOfWork
from bot.i18n import Translator
from bot.render import N_
from bot.services.segments import Segment, SegmentStatus
from journeys.journey import Journey

STATUS_NAMES = {
    SegmentStatus.ONBOARDING: N_("onboarding"),
    SegmentStatus.WAITING: N_("waiting for start"),
    SegmentStatus.ACTIVE: N_("active"),
    SegmentStatus.STALLED: N_("stalled"),
    SegmentStatus.COMPLETED: N_("completed"),
}
IDLE_STEPS = (None, 3, 7, 14)


def _mark(on: bool, text: str) -> str:
    return f"✓ {text}" if on else text


def describe(segment: Segment, service: BroadcastService, t: Translator) -> str:
    if segment.is_everyone:
        return t("all students")
    journey, parts = service.journey, []
    if segment.statuses:
        parts.append(t("status: {names}", names=", ".join(t(STATUS_NAMES[s]) for s in segment.statuses)))
    if segment.tracks:
        titles = [journey.track(tr).title if journey.has_track(tr) else tr for tr in segment.tracks]
        parts.append(t("track: {names}", names=", ".join(titles)))
    if segment.cohort is not None:
        parts.append(t("cohort of {date}", date=segment.cohort.astimezone(service.tz).strftime("%d.%m.%Y")))
    for question_id, options in segment.answers.items():
        question = journey.question(question_id)
        texts = [(question.option(o).text if question and question.option(o) else o) for o in options]  # type: ignore[union-attr]
        parts.append(t("answered “{question}”: {options}", question=question_id, options=", ".join(texts)))
    if segment.idle_days:
        parts.append(t("idle for more than {n} days", n=segment.idle_days))
    return "; ".join(escape(part) for part in parts)


async def segment_menu(
    uow: UnitOfWork, service: BroadcastService, draft: Broadcast, t: Translator
) -> tuple[str, InlineKeyboardMarkup]:
    segment = segment_of(draft)
    count = await service.count(uow, segment)
    journey, b = service.journey, draft.id
    view = content_of(draft).view
    rows: list[list[InlineKeyboardButton]] = []
    if view.page is MenuPage.MAIN:
        rows.append([button(_mark(segment.is_everyone, t("All students")), b, WizardAction.EVERYONE)])
        statuses = [
            button(_mark(s in segment.statuses, t(STATUS_NAMES[s])), b, WizardAction.STATUS, i)
            for i, s in enumerate(SegmentStatus)
        ]
        rows += [statuses[:3], statuses[3:]]
        tracks = list(journey.spec.tracks)
        rows.append(
            [
                button(_mark(tr in segment.tracks, journey.track(tr).title), b, WizardAction.TRACK, i)
                for i, tr in enumerate(tracks)
            ]
        )
        cohort = segment.cohort.astimezone(service.tz).strftime("%d.%m.%Y") if segment.cohort else t("any")
        idle = t("{n} days", n=segment.idle_days) if segment.idle_days else t("any")
        rows.append(
            [
                button(t("Cohort: {value}", value=cohort), b, WizardAction.COHORT),
                button(t("Idle: {value}", value=idle), b, WizardAction.IDLE),
            ]
        )
        rows.append([button(t("By survey answer…"), b, WizardAction.QUESTIONS)])
        rows.append([button(t("✖ Cancel"), b, WizardAction.DROP), button(t("Next ➡"), b, WizardAction.NEXT)])
    elif view.page is MenuPage.QUESTIONS:
        rows += [
            [button(q.text[:40], b, WizardAction.QUESTION, i)]
            for i, q in enumerate(journey.questions)
            if q.is_choice and q.options
        ]
        rows.append([button(t("« Back"), b, WizardAction.MAIN)])
    else:
        index = view.question
        question = journey.questions[index]
        chosen = segment.answers.get(question.id, [])
        rows += [
            [button(_mark(o.id in chosen, o.text), b, WizardAction.OPTION, index, i)]
            for i, o in enumerate(question.options)
        ]
        rows.append([button(t("« Back"), b, WizardAction.QUESTIONS)])
    text = "\n".join(
        [
            t("📣 <b>New broadcast</b>: who gets it? Filters combine with AND."),
            t("Segment: {segment}", segment=describe(segment, service, t)),
            t("Recipients: <b>{n}</b>", n=count),
        ]
    )
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def toggled(segment: Segment, press: WizardButton, service: BroadcastService, cohorts: list[datetime]) -> Segment:
    """The segment after a press on one of its filters."""
    action = press.action
    data = segment.model_copy(deep=True)
    journey = service.journey
    if action is WizardAction.EVERYONE:
        return Segment()
    if action is WizardAction.STATUS:
        status = list(SegmentStatus)[press.index]
        data.statuses = (
            [s for s in data.statuses if s != status] if status in data.statuses else [*data.statuses, status]
        )
    elif action is WizardAction.TRACK:
        track = list(journey.spec.tracks)[press.index]
        data.tracks = [x for x in data.tracks if x != track] if track in data.tracks else [*data.tracks, track]
    elif action is WizardAction.COHORT:
        choices: list[datetime | None] = [None, *cohorts]
        at = choices.index(data.cohort) if data.cohort in choices else 0
        data.cohort = choices[(at + 1) % len(choices)]
    elif action is WizardAction.IDLE:
        data.idle_days = IDLE_STEPS[(IDLE_STEPS.index(data.idle_days) + 1) % len(IDLE_STEPS)]
    elif action is WizardAction.OPTION:
        question = journey.questions[press.index]
        option = question.options[press.option].id
        chosen = data.answers.get(question.id, [])
        chosen = [x for x in chosen if x != option] if option in chosen else [*chosen, option]
        data.answers = {k: v for k, v in {**data.answers, question.id: chosen}.items() if v}
    return data


def points_at_nothing(press: WizardButton, journey: Journey) -> bool:
    """A forged menu entry: a status, track, question or option number past the end of its list."""
    if press.action is WizardAction.STATUS:
        return press.index >= len(SegmentStatus)
    if press.action is WizardAction.TRACK:
        return press.index >= len(journey.spec.tracks)
    if press.action in (WizardAction.QUESTION, WizardAction.OPTION):
        if press.index >= len(journey.questions):
            return True
        return press.action is WizardAction.OPTION and press.option >= len(journey.questions[press.index].options)
    return False

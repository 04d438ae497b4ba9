"""What the curator group sees: alert, student card, relay header and digest texts, and the alert buttons."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from html import escape
from zoneinfo import ZoneInfo

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import RowId
from bot.db.models import Alert, AlertKind, AlertStatus, Student
from bot.i18n import Translator
from bot.names import fit
from bot.render import done_tracker, tracker, when
from journeys.progress import Progress
from journeys.stalls import StallReasons

TOPIC_NAME_LIMIT = 128


class AlertAction(StrEnum):
    """What a button on an alert does. The values travel in the 64-byte callback data of buttons already
    in the group: short, and never changed."""

    TAKE = "take"
    WRITE = "write"  # tells the curator how to reach the student; changes nothing
    SNOOZE_DAY = "s1"
    SNOOZE_3_DAYS = "s3"
    RESOLVE = "done"


SNOOZE_DAYS = {AlertAction.SNOOZE_DAY: 1, AlertAction.SNOOZE_3_DAYS: 3}


class AlertPress(CallbackData, prefix="al"):
    """A button on an alert; the handler also checks the pressed message is that alert's message."""

    alert: RowId
    act: AlertAction


@dataclass(frozen=True)
class Facts:
    """A student as the curators need to see them, read from the database when a text is rendered."""

    name: str
    username: str | None
    track: str | None
    step: str | None
    progress: Progress | None
    answers: list[tuple[str, str]]  # question id → what the student chose or wrote


def who(name: str, username: str | None) -> str:
    return f"{escape(name)} @{escape(username)}" if username else escape(name)


def topic_name(student: Student) -> str:
    name = student.display_name or str(student.telegram_id)
    full = f"{name} · @{student.username}" if student.username else name
    return fit(full, TOPIC_NAME_LIMIT)


def _profile(facts: Facts, t: Translator) -> list[str]:
    lines = [f"👤 <b>{who(facts.name, facts.username)}</b>"]
    if facts.track:
        lines.append(t("Track: {track}", track=escape(facts.track)))
    if facts.step:
        lines.append(t("Current step: {step}", step=escape(facts.step)))
    if facts.progress is not None:
        shown = tracker if facts.step else done_tracker
        lines.append(shown(facts.progress, t))
    if facts.answers:
        survey = " · ".join(f"{escape(q)} → {escape(a)}" for q, a in facts.answers)
        lines.append(t("Survey: {answers}", answers=survey))
    return lines


def card_text(facts: Facts, t: Translator) -> str:
    """Pinned at the top of the student's topic."""
    return "\n".join([t("🗂 Student card"), *_profile(facts, t)])


def reasons_lines(reasons: StallReasons, t: Translator) -> list[str]:
    lines = [t("Idle: {days} days", days=reasons.idle_days)]
    if reasons.behind_steps:
        lines.append(t("Behind the pace: {n} steps", n=reasons.behind_steps))
    if reasons.ladder_exhausted:
        lines.append(t("Every reminder was sent without a reaction."))
    return lines


def status_line(alert: Alert, t: Translator, tz: ZoneInfo, resolver: str | None = None) -> str | None:
    match alert.status:
        case AlertStatus.TAKEN:
            assert alert.taken_at is not None
            return t(
                "🙋 Taken by {name} · {date}",
                name=escape(alert.taken_by_name or "?"),
                date=when(alert.taken_at, t, tz),
            )
        case AlertStatus.SNOOZED:
            assert alert.snoozed_until is not None
            return t("💤 Snoozed until {date}", date=when(alert.snoozed_until, t, tz))
        case AlertStatus.RESOLVED:
            assert alert.resolved_at is not None
            date = when(alert.resolved_at, t, tz)
            if alert.resolved_by is None:
                return t("✅ Resolved: the student moved on · {date}", date=date)
            return t("✅ Resolved by {name} · {date}", name=escape(resolver or "?"), date=date)
    return None


def lead_lines(alert: Alert, t: Translator, offer_title: str | None = None) -> list[str]:
    if alert.offer_id is None:
        return [t("💼 <b>Sales lead</b>: a free consultation (the course did not suit their answers)")]
    offer = escape(offer_title) if offer_title else f"<code>{escape(alert.offer_id)}</code>"
    return [t("💼 <b>Sales lead</b>: offer {offer}", offer=offer)]


def alert_text(
    alert: Alert,
    facts: Facts,
    t: Translator,
    tz: ZoneInfo,
    resolver: str | None = None,
    *,
    offer_title: str | None = None,
) -> str:
    """`offer_title`: a lead's offer as the curators read it (its id when the journey no longer has it)."""
    if alert.kind is AlertKind.LEAD:
        lines = [*lead_lines(alert, t, offer_title), *_profile(facts, t)]
    else:
        lines = [
            t("🚨 <b>Student stalled</b>"),
            *_profile(facts, t),
            *reasons_lines(StallReasons.from_json(alert.reasons), t),
        ]
    status = status_line(alert, t, tz, resolver)
    return "\n".join([*lines, "", status] if status else lines)


def alert_keyboard(alert: Alert, t: Translator) -> InlineKeyboardMarkup | None:
    """Open: all actions; taken: all but Take; snoozed or resolved: none (a stale press is refused anyway).
    A lead is not snoozed: nothing the student does ends it."""
    if alert.status not in (AlertStatus.OPEN, AlertStatus.TAKEN):
        return None

    def button(text: str, act: AlertAction) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=text, callback_data=AlertPress(alert=alert.id, act=act).pack())

    first = [button(t("✍️ Write to student"), AlertAction.WRITE)]
    if alert.status is AlertStatus.OPEN:
        first.insert(0, button(t("🙋 Take"), AlertAction.TAKE))
    snooze = [button(t("💤 1 day"), AlertAction.SNOOZE_DAY), button(t("💤 3 days"), AlertAction.SNOOZE_3_DAYS)]
    rows = [first, *([] if alert.kind is AlertKind.LEAD else [snooze]), [button(t("✅ Resolved"), AlertAction.RESOLVE)]]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def relay_header(student: Student, t: Translator) -> str:
    name = student.display_name or str(student.telegram_id)
    return t("❓ Question from {who}", who=who(name, student.username))


@dataclass(frozen=True)
class DigestStats:
    day: str
    unresolved: int
    untaken: int
    overdue: list[str]  # names of students whose alert nobody took for a day
    resolved_yesterday: int
    median_take_hours: float | None


def digest_text(stats: DigestStats, t: Translator) -> str:
    lines = [
        t("📋 <b>Curator digest · {day}</b>", day=stats.day),
        t("Open alerts: {n} (not taken: {untaken})", n=stats.unresolved, untaken=stats.untaken),
        t("Not taken for more than 24 h: {n}", n=len(stats.overdue)),
    ]
    lines += [f"  • {escape(name)}" for name in stats.overdue[:10]]
    lines.append(t("Resolved yesterday: {n}", n=stats.resolved_yesterday))
    median = "—" if stats.median_take_hours is None else f"{stats.median_take_hours:.1f}"
    lines.append(t("Median time to take (7 days): {hours} h", hours=median))
    return "\n".join(lines)


def day_label(moment: datetime, t: Translator, tz: ZoneInfo) -> str:
    return when(moment, t, tz).rsplit(",", 1)[0]

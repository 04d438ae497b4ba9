"""/broadcast: the care team's wizard (segment → message → buttons → preview → send or schedule), /broadcasts.

Every step is stored on the draft row, so the bot can restart mid-wizard; every press re-checks the permission.
"""

import contextlib
from datetime import datetime
from html import escape

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.broadcasts.service import (
    Accepted,
    BroadcastService,
    Step,
    Wiz,
    duration,
    parse_buttons,
    parse_when,
    segment_of,
    set_content,
    step_of,
)
from bot.db.models import Broadcast, BroadcastStatus
from bot.db.uow import UnitOfWork, UnitOfWorkFactory
from bot.filters import StaffOnly, refuse
from bot.i18n import Translator
from bot.render import N_
from bot.services.segments import Segment, SegmentStatus
from bot.services.staff import Permission
from journeys.journey import Journey

STATUS_NAMES = {
    SegmentStatus.ONBOARDING: N_("onboarding"),
    SegmentStatus.WAITING: N_("waiting for start"),
    SegmentStatus.ACTIVE: N_("active"),
    SegmentStatus.STALLED: N_("stalled"),
    SegmentStatus.COMPLETED: N_("completed"),
}
IDLE_STEPS = (None, 3, 7, 14)
STATE_NAMES = {
    BroadcastStatus.SCHEDULED: N_("scheduled"),
    BroadcastStatus.QUEUEING: N_("sending"),
    BroadcastStatus.SENDING: N_("sending"),
    BroadcastStatus.DONE: N_("done"),
    BroadcastStatus.CANCELLED: N_("cancelled"),
}


def _button(text: str, broadcast_id: int, action: str, n: int = 0, m: int = 0) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=Wiz(b=broadcast_id, a=action, n=n, m=m).pack())


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
    view = draft.content.get("view", "main")
    rows: list[list[InlineKeyboardButton]] = []
    if view == "main":
        rows.append([_button(_mark(segment.is_everyone, t("All students")), b, "all")])
        statuses = [
            _button(_mark(s in segment.statuses, t(STATUS_NAMES[s])), b, "st", i) for i, s in enumerate(SegmentStatus)
        ]
        rows += [statuses[:3], statuses[3:]]
        tracks = list(journey.spec.tracks)
        rows.append(
            [_button(_mark(tr in segment.tracks, journey.track(tr).title), b, "tr", i) for i, tr in enumerate(tracks)]
        )
        cohort = segment.cohort.astimezone(service.tz).strftime("%d.%m.%Y") if segment.cohort else t("any")
        idle = t("{n} days", n=segment.idle_days) if segment.idle_days else t("any")
        rows.append(
            [
                _button(t("Cohort: {value}", value=cohort), b, "co"),
                _button(t("Idle: {value}", value=idle), b, "idle"),
            ]
        )
        rows.append([_button(t("By survey answer…"), b, "qs")])
        rows.append([_button(t("✖ Cancel"), b, "drop"), _button(t("Next ➡"), b, "next")])
    elif view == "qs":
        rows += [
            [_button(q.text[:40], b, "q", i)] for i, q in enumerate(journey.questions) if q.is_choice and q.options
        ]
        rows.append([_button(t("« Back"), b, "main")])
    else:
        index = int(view.removeprefix("q:"))
        question = journey.questions[index]
        chosen = segment.answers.get(question.id, [])
        rows += [[_button(_mark(o.id in chosen, o.text), b, "o", index, i)] for i, o in enumerate(question.options)]
        rows.append([_button(t("« Back"), b, "qs")])
    text = "\n".join(
        [
            t("📣 <b>New broadcast</b>: who gets it? Filters combine with AND."),
            t("Segment: {segment}", segment=describe(segment, service, t)),
            t("Recipients: <b>{n}</b>", n=count),
        ]
    )
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def toggled(
    segment: Segment, action: str, n: int, m: int, service: BroadcastService, cohorts: list[datetime]
) -> Segment:
    data = segment.model_copy(deep=True)
    journey = service.journey
    if action == "all":
        return Segment()
    if action == "st":
        status = list(SegmentStatus)[n]
        data.statuses = (
            [s for s in data.statuses if s != status] if status in data.statuses else [*data.statuses, status]
        )
    elif action == "tr":
        track = list(journey.spec.tracks)[n]
        data.tracks = [x for x in data.tracks if x != track] if track in data.tracks else [*data.tracks, track]
    elif action == "co":
        choices: list[datetime | None] = [None, *cohorts]
        at = choices.index(data.cohort) if data.cohort in choices else 0
        data.cohort = choices[(at + 1) % len(choices)]
    elif action == "idle":
        data.idle_days = IDLE_STEPS[(IDLE_STEPS.index(data.idle_days) + 1) % len(IDLE_STEPS)]
    elif action == "o":
        question = journey.questions[n]
        option = question.options[m].id
        chosen = data.answers.get(question.id, [])
        chosen = [x for x in chosen if x != option] if option in chosen else [*chosen, option]
        data.answers = {k: v for k, v in {**data.answers, question.id: chosen}.items() if v}
    return data


def points_at_nothing(data: Wiz, journey: Journey) -> bool:
    """A forged menu entry: a status, track, question or option number past the end of its list."""
    if data.a == "st":
        return data.n >= len(SegmentStatus)
    if data.a == "tr":
        return data.n >= len(journey.spec.tracks)
    if data.a in ("q", "o"):
        if data.n >= len(journey.questions):
            return True
        return data.a == "o" and data.m >= len(journey.questions[data.n].options)
    return False


async def start_broadcast(
    message: Message, broadcasts: BroadcastService, uow_factory: UnitOfWorkFactory, t: Translator
) -> None:
    assert message.from_user is not None
    actor = message.from_user.id
    async with uow_factory() as uow:
        draft = await broadcasts.new_draft(uow, actor, message.chat.id, t.language)
        text, markup = await segment_menu(uow, broadcasts, draft, t)
        await uow.commit()
    await message.answer(text, reply_markup=markup)


async def list_broadcasts(
    message: Message, broadcasts: BroadcastService, uow_factory: UnitOfWorkFactory, t: Translator
) -> None:
    async with uow_factory() as uow:
        history = await broadcasts.history(uow)
    if not history:
        await message.answer(t("No broadcasts yet. Start one with /broadcast."))
        return
    lines = [t("<b>Broadcasts</b>")]
    for b, stats in history:
        when = b.started_at or b.scheduled_at or b.created_at
        lines.append(
            t(
                "#{id} · {when} · {state} · {total} recipients: delivered {sent}, blocked {blocked}, failed {failed}",
                id=b.id,
                when=when.astimezone(broadcasts.tz).strftime("%d.%m.%Y %H:%M"),
                state=t(STATE_NAMES.get(b.status, b.status.value)),
                total=b.total,
                sent=stats.sent,
                blocked=stats.blocked,
                failed=stats.failed,
            )
        )
    await message.answer("\n".join(lines))


async def drop_draft(
    message: Message, broadcasts: BroadcastService, uow_factory: UnitOfWorkFactory, t: Translator
) -> None:
    assert message.from_user is not None
    async with uow_factory() as uow:
        draft = await broadcasts.draft_of(uow, message.from_user.id)
        if draft is None:
            raise SkipHandler  # someone else's /cancel (a student leaving the curator question)
        await uow.session.delete(draft)
        await uow.commit()
    await message.answer(t("Broadcast dropped; nothing was sent."))


async def take_message(
    message: Message,
    bot: Bot,
    broadcasts: BroadcastService,
    uow_factory: UnitOfWorkFactory,
    t: Translator,
) -> None:
    """The message to broadcast, its buttons, or the time to send it: whatever the draft waits for."""
    assert message.from_user is not None
    actor = message.from_user.id
    if (message.text or "").startswith("/"):
        raise SkipHandler
    async with uow_factory() as uow:
        draft = await broadcasts.draft_of(uow, actor)
        if draft is None or step_of(draft) not in (Step.MESSAGE, Step.BUTTONS, Step.SCHEDULE):
            raise SkipHandler
        step = step_of(draft)
        if step is Step.SCHEDULE:
            await _schedule(message, uow, broadcasts, draft, actor, t)
            return
        if step is Step.BUTTONS and message.text and message.media_group_id is None:
            buttons = parse_buttons(message.text)
            if isinstance(buttons, int):
                await uow.rollback()  # no transaction held while Telegram answers (SQLite: the write lock)
                await message.answer(t("Line {n} is not a button. Use: Text - https://example.com", n=buttons))
                return
            set_content(draft, buttons=buttons, step=Step.PREVIEW.value)
            count = await broadcasts.count(uow, segment_of(draft))
            await uow.commit()
            await _preview(bot, message.chat.id, broadcasts, draft, count, t)
            return
        accepted = broadcasts.accept_message(draft, message)
        if accepted is Accepted.UNSUPPORTED:
            await uow.rollback()
            await message.answer(t("I can broadcast text, a photo, a video, a document, a voice message or an album."))
            return
        if accepted is Accepted.SINGLE:
            set_content(draft, step=Step.BUTTONS.value)
        else:
            set_content(draft, step=Step.MESSAGE.value)
        await uow.commit()
    if accepted is Accepted.SINGLE:
        await message.answer(
            t("Add link buttons? Send one line per button: Text - https://example.com"),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[_button(t("No buttons"), draft.id, "nobtn")]]),
        )
    elif accepted is Accepted.ALBUM:
        await message.answer(
            t("Album received (albums cannot carry buttons). Press Preview once all its parts are here."),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[_button(t("Preview"), draft.id, "prev")]]),
        )


async def _schedule(
    message: Message, uow: UnitOfWork, broadcasts: BroadcastService, draft: Broadcast, actor: int, t: Translator
) -> None:
    zone = broadcasts.tz.key
    when = parse_when(message.text or "", broadcasts.tz)
    if when is None:
        await uow.rollback()  # no transaction held while Telegram answers (SQLite: the write lock)
        await message.answer(t("Send the date and time in {zone} like this: 2026-12-01 10:00", zone=zone))
        return
    if when <= broadcasts.clock.now():
        await uow.rollback()
        await message.answer(t("That moment has passed. Send a later date and time."))
        return
    total = await broadcasts.confirm(uow, draft, actor, at=when)
    await uow.commit()
    await message.answer(
        t(
            "🗓 Broadcast #{id} is scheduled for {when} ({zone}); {n} recipients right now.",
            id=draft.id,
            when=when.strftime("%Y-%m-%d %H:%M"),
            zone=zone,
            n=total,
        ),
        reply_markup=broadcasts.stop_keyboard(draft.id, t),
    )


async def _preview(
    bot: Bot, chat_id: int, broadcasts: BroadcastService, draft: Broadcast, count: int, t: Translator
) -> None:
    try:
        for out in broadcasts.outs(draft, paid=False):
            await out.deliver(bot, chat_id)
    except TelegramBadRequest as exc:
        await bot.send_message(chat_id, t("Telegram refused this message: {error}", error=escape(exc.message)))
        return
    b = draft.id
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(t("🚀 Send now"), b, "send"), _button(t("🗓 Schedule"), b, "sched")],
            [_button(t("✖ Cancel"), b, "drop")],
        ]
    )
    text = "\n".join(
        [
            t("☝️ This is exactly what students will see."),
            t("Recipients: <b>{n}</b>", n=count),
            t(
                "At {rate} messages a second it takes about {time}.",
                rate=f"{broadcasts.rate:g}",
                time=duration(broadcasts.seconds_for(count), t),
            ),
        ]
    )
    await bot.send_message(chat_id, text, reply_markup=markup)


async def press(
    query: CallbackQuery,
    callback_data: Wiz,
    bot: Bot,
    broadcasts: BroadcastService,
    uow_factory: UnitOfWorkFactory,
    t: Translator,
) -> None:
    actor, action = query.from_user.id, callback_data.a
    if points_at_nothing(callback_data, broadcasts.journey):
        await query.answer(t("That button belongs to an earlier step."))
        return
    message = query.message if isinstance(query.message, Message) else None
    if action == "stop":
        await _stop(query, message, broadcasts, uow_factory, callback_data.b, actor, t)
        return
    async with uow_factory() as uow:
        draft = await broadcasts.get(uow, callback_data.b, lock=True)
        if draft is None or draft.status is not BroadcastStatus.DRAFT or draft.created_by != actor:
            await uow.rollback()  # no transaction held while Telegram answers (SQLite: the write lock)
            await query.answer(t("This draft is gone: start again with /broadcast."), show_alert=True)
            return
        step = step_of(draft)
        edit: tuple[str, InlineKeyboardMarkup | None] | None = None
        answer: str | None = None
        follow: str | None = None
        preview = send_now = False
        if action == "drop":
            await uow.session.delete(draft)
            edit, answer = (t("Broadcast dropped; nothing was sent."), None), t("Cancelled.")
        elif step is Step.SEGMENT and action in ("all", "st", "tr", "co", "idle", "o"):
            cohorts = await broadcasts.cohorts(uow) if action == "co" else []
            segment = toggled(segment_of(draft), action, callback_data.n, callback_data.m, broadcasts, cohorts)
            draft.segment = segment.model_dump(mode="json", exclude_defaults=True)
            edit = await segment_menu(uow, broadcasts, draft, t)
        elif step is Step.SEGMENT and action in ("qs", "q", "main"):
            set_content(draft, view={"q": f"q:{callback_data.n}"}.get(action, action))
            edit = await segment_menu(uow, broadcasts, draft, t)
        elif step is Step.SEGMENT and action == "next":
            set_content(draft, step=Step.MESSAGE.value, view="main")
            count = await broadcasts.count(uow, segment_of(draft))
            segment_line = t("Segment: {segment}", segment=describe(segment_of(draft), broadcasts, t))
            edit = (f"{segment_line}\n{t('Recipients: <b>{n}</b>', n=count)}", None)
            follow = t(
                "Now send the message: text with formatting, a photo, a video, a document, a voice message "
                "or an album. /cancel drops the broadcast."
            )
        elif (step is Step.BUTTONS and action == "nobtn") or (step is Step.MESSAGE and action == "prev"):
            if draft.content.get("kind") is None:
                await uow.rollback()
                await query.answer(t("Send the message first."), show_alert=True)
                return
            set_content(draft, step=Step.PREVIEW.value)
            preview = True
        elif step is Step.PREVIEW and action == "send":
            count = await broadcasts.confirm(uow, draft, actor)
            edit, send_now = (t("🚀 Broadcast #{id}: sending to {n} students.", id=draft.id, n=count), None), True
        elif step is Step.PREVIEW and action == "sched":
            set_content(draft, step=Step.SCHEDULE.value)
            follow = t("When? Send the date and time in {zone}, e.g. 2026-12-01 10:00", zone=broadcasts.tz.key)
        else:
            await uow.rollback()
            await query.answer(t("That button belongs to an earlier step."))
            return
        count = await broadcasts.count(uow, segment_of(draft)) if preview else 0
        await uow.commit()
    await query.answer(answer)
    if edit is not None and message is not None:
        with contextlib.suppress(TelegramBadRequest):  # not modified: the same count after a toggle
            await message.edit_text(edit[0], reply_markup=edit[1])
    if follow is not None and message is not None:
        await message.answer(follow)
    if preview and message is not None:
        await _preview(bot, message.chat.id, broadcasts, draft, count, t)
    if send_now:
        await broadcasts.queue_now(draft.id)
        await broadcasts.pulse()


async def _stop(
    query: CallbackQuery,
    message: Message | None,
    broadcasts: BroadcastService,
    uow_factory: UnitOfWorkFactory,
    broadcast_id: int,
    actor: int,
    t: Translator,
) -> None:
    async with uow_factory() as uow:
        stopped = await broadcasts.cancel(uow, broadcast_id, actor)
        await uow.commit()
    if stopped is None:
        await query.answer(t("This broadcast has already ended."), show_alert=True)
        return
    await query.answer(t("Cancelled."))
    if stopped.started_at is None and message is not None:
        await message.edit_text(
            t("Broadcast #{id} was cancelled before it started; nothing was sent.", id=broadcast_id)
        )
    else:
        await broadcasts.pulse()  # the progress message turns into the report


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    care = StaffOnly(Permission.BROADCAST)
    not_care = refuse(N_("Not allowed: only the care team and admins send broadcasts."))
    router.message.register(start_broadcast, Command("broadcast"), care)
    router.message.register(not_care, Command("broadcast"))
    router.message.register(list_broadcasts, Command("broadcasts"), care)
    router.message.register(not_care, Command("broadcasts"))
    router.message.register(drop_draft, Command("cancel"))
    router.message.register(take_message, care)  # anyone else's message is not for the wizard
    router.callback_query.register(press, Wiz.filter(), care)
    router.callback_query.register(refuse(N_("Not allowed."), show_alert=True), Wiz.filter())
    return router

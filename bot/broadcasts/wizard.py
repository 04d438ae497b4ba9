"""/broadcast: the care team's wizard (segment → message → buttons → preview → send or schedule), /broadcasts.

Every step is stored on the draft row, so the bot can restart mid-wizard; every press re-checks the permission.
"""

import contextlib
from html import escape

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.broadcasts.callbacks import WizardAction, WizardButton, button
from bot.broadcasts.content import MenuPage, MenuView, Step, content_of, set_content
from bot.broadcasts.drafts import Accepted, accept_message, outs, parse_buttons, parse_when, segment_of, step_of
from bot.broadcasts.progress import duration, stop_keyboard
from bot.broadcasts.segment_menu import describe, points_at_nothing, segment_menu, toggled
from bot.broadcasts.service import BroadcastService
from bot.broadcasts.stats import history
from bot.db.models import Broadcast, BroadcastStatus
from bot.db.uow import UnitOfWork, UnitOfWorkFactory
from bot.filters import StaffOnly, refuse
from bot.i18n import Translator
from bot.render import N_
from bot.services.staff import Permission

STATE_NAMES = {
    BroadcastStatus.SCHEDULED: N_("scheduled"),
    BroadcastStatus.QUEUEING: N_("sending"),
    BroadcastStatus.SENDING: N_("sending"),
    BroadcastStatus.DONE: N_("done"),
    BroadcastStatus.CANCELLED: N_("cancelled"),
}
# presses on the segment menu that change the segment, and those that change what the menu shows
FILTERS = frozenset(
    {
        WizardAction.EVERYONE,
        WizardAction.STATUS,
        WizardAction.TRACK,
        WizardAction.COHORT,
        WizardAction.IDLE,
        WizardAction.OPTION,
    }
)
VIEWS = {
    WizardAction.MAIN: MenuPage.MAIN,
    WizardAction.QUESTIONS: MenuPage.QUESTIONS,
    WizardAction.QUESTION: MenuPage.QUESTION,
}


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
        recent = await history(uow.session)
    if not recent:
        await message.answer(t("No broadcasts yet. Start one with /broadcast."))
        return
    lines = [t("<b>Broadcasts</b>")]
    for b, stats in recent:
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
            set_content(draft, content_of(draft).with_buttons(buttons).at_step(Step.PREVIEW))
            count = await broadcasts.count(uow, segment_of(draft))
            await uow.commit()
            await _preview(bot, message.chat.id, broadcasts, draft, count, t)
            return
        accepted = accept_message(draft, message)
        if accepted is Accepted.UNSUPPORTED:
            await uow.rollback()
            await message.answer(t("I can broadcast text, a photo, a video, a document, a voice message or an album."))
            return
        next_step = Step.BUTTONS if accepted is Accepted.SINGLE else Step.MESSAGE
        set_content(draft, content_of(draft).at_step(next_step))
        await uow.commit()
    if accepted is Accepted.SINGLE:
        await message.answer(
            t("Add link buttons? Send one line per button: Text - https://example.com"),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[[button(t("No buttons"), draft.id, WizardAction.NO_BUTTONS)]]
            ),
        )
    elif accepted is Accepted.ALBUM:
        await message.answer(
            t("Album received (albums cannot carry buttons). Press Preview once all its parts are here."),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button(t("Preview"), draft.id, WizardAction.PREVIEW)]]),
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
    total = await broadcasts.delivery.confirm(uow, draft, actor, at=when)
    await uow.commit()
    await message.answer(
        t(
            "🗓 Broadcast #{id} is scheduled for {when} ({zone}); {n} recipients right now.",
            id=draft.id,
            when=when.strftime("%Y-%m-%d %H:%M"),
            zone=zone,
            n=total,
        ),
        reply_markup=stop_keyboard(draft.id, t),
    )


async def _preview(
    bot: Bot, chat_id: int, broadcasts: BroadcastService, draft: Broadcast, count: int, t: Translator
) -> None:
    try:
        for out in outs(draft, paid=False):
            await out.deliver(bot, chat_id)
    except TelegramBadRequest as exc:
        await bot.send_message(chat_id, t("Telegram refused this message: {error}", error=escape(exc.message)))
        return
    b = draft.id
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [button(t("🚀 Send now"), b, WizardAction.SEND), button(t("🗓 Schedule"), b, WizardAction.SCHEDULE)],
            [button(t("✖ Cancel"), b, WizardAction.DROP)],
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
    callback_data: WizardButton,
    bot: Bot,
    broadcasts: BroadcastService,
    uow_factory: UnitOfWorkFactory,
    t: Translator,
) -> None:
    actor, action = query.from_user.id, callback_data.action
    if points_at_nothing(callback_data, broadcasts.journey):
        await query.answer(t("That button belongs to an earlier step."))
        return
    message = query.message if isinstance(query.message, Message) else None
    if action is WizardAction.STOP:
        await _stop(query, message, broadcasts, uow_factory, callback_data.broadcast, actor, t)
        return
    async with uow_factory() as uow:
        draft = await broadcasts.get(uow, callback_data.broadcast, lock=True)
        if draft is None or draft.status is not BroadcastStatus.DRAFT or draft.created_by != actor:
            await uow.rollback()  # no transaction held while Telegram answers (SQLite: the write lock)
            await query.answer(t("This draft is gone: start again with /broadcast."), show_alert=True)
            return
        step = step_of(draft)
        edit: tuple[str, InlineKeyboardMarkup | None] | None = None
        answer: str | None = None
        follow: str | None = None
        preview = send_now = False
        if action is WizardAction.DROP:
            await uow.session.delete(draft)
            edit, answer = (t("Broadcast dropped; nothing was sent."), None), t("Cancelled.")
        elif step is Step.SEGMENT and action in FILTERS:
            cohorts = await broadcasts.cohorts(uow) if action is WizardAction.COHORT else []
            segment = toggled(segment_of(draft), callback_data, broadcasts, cohorts)
            draft.segment = segment.model_dump(mode="json", exclude_defaults=True)
            edit = await segment_menu(uow, broadcasts, draft, t)
        elif step is Step.SEGMENT and action in VIEWS:
            page = VIEWS[action]
            view = MenuView(page, callback_data.index) if page is MenuPage.QUESTION else MenuView(page)
            set_content(draft, content_of(draft).showing(view))
            edit = await segment_menu(uow, broadcasts, draft, t)
        elif step is Step.SEGMENT and action is WizardAction.NEXT:
            set_content(draft, content_of(draft).at_step(Step.MESSAGE).showing(MenuView()))
            count = await broadcasts.count(uow, segment_of(draft))
            segment_line = t("Segment: {segment}", segment=describe(segment_of(draft), broadcasts, t))
            edit = (f"{segment_line}\n{t('Recipients: <b>{n}</b>', n=count)}", None)
            follow = t(
                "Now send the message: text with formatting, a photo, a video, a document, a voice message "
                "or an album. /cancel drops the broadcast."
            )
        elif (step is Step.BUTTONS and action is WizardAction.NO_BUTTONS) or (
            step is Step.MESSAGE and action is WizardAction.PREVIEW
        ):
            if content_of(draft).kind is None:
                await uow.rollback()
                await query.answer(t("Send the message first."), show_alert=True)
                return
            set_content(draft, content_of(draft).at_step(Step.PREVIEW))
            preview = True
        elif step is Step.PREVIEW and action is WizardAction.SEND:
            count = await broadcasts.delivery.confirm(uow, draft, actor)
            edit, send_now = (t("🚀 Broadcast #{id}: sending to {n} students.", id=draft.id, n=count), None), True
        elif step is Step.PREVIEW and action is WizardAction.SCHEDULE:
            set_content(draft, content_of(draft).at_step(Step.SCHEDULE))
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
        await broadcasts.delivery.queue_now(draft.id)
        await broadcasts.progress.pulse()


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
        stopped = await broadcasts.delivery.cancel(uow, broadcast_id, actor)
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
        await broadcasts.progress.pulse()  # the progress message turns into the report


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
    router.callback_query.register(press, WizardButton.filter(), care)
    router.callback_query.register(refuse(N_("Not allowed."), show_alert=True), WizardButton.filter())
    return router

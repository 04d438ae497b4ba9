"""The curator group: presses on alert buttons, and curators' messages that go back to students."""

import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, Message

from bot.curator.cards import AlertPress
from bot.curator.desk import CuratorDesk
from bot.curator.relay import Relayed
from bot.filters import CuratorOnly, refuse
from bot.i18n import Translator
from bot.names import fit
from bot.render import N_

log = logging.getLogger(__name__)

# what copyMessage can pass on; service messages (joins, pins, topic events) are not relayed
COPYABLE = frozenset({"text", "photo", "document", "voice", "video", "audio", "animation", "video_note", "sticker"})


async def press(query: CallbackQuery, callback_data: AlertPress, desk: CuratorDesk, t: Translator) -> None:
    user = query.from_user
    message = query.message if isinstance(query.message, Message) else None
    if message is None:  # too old for Telegram to show it: nothing to check the press against
        await query.answer(t("This button is no longer active."))
        return
    outcome = await desk.press(
        alert_id=callback_data.alert,
        act=callback_data.act,
        chat_id=message.chat.id,
        message_id=message.message_id,
        user_id=user.id,
        user_name=fit(user.full_name),
        t=t,
    )
    await query.answer(outcome.answer, show_alert=outcome.show_alert)
    if outcome.text is not None:
        try:
            await message.edit_text(outcome.text, reply_markup=outcome.markup)
        except TelegramBadRequest as e:  # deleted meanwhile, or already showing this
            log.info("alert %s: could not edit its message: %s", callback_data.alert, e.message)


async def staff_message(message: Message, desk: CuratorDesk, bot: Bot, t: Translator) -> None:
    sender = message.from_user
    if sender is None or sender.is_bot or sender.id == bot.id:
        return
    if (message.text or "").startswith("/"):
        return  # commands meant for bots, not for students
    replied = message.reply_to_message
    reply_to = replied.message_id if replied else None
    # the id getMe gives (cached by aiogram) is the one on the bot's messages
    to_bot = replied is not None and replied.from_user is not None and replied.from_user.id == (await bot.me()).id
    thread_id = message.message_thread_id if message.is_topic_message else None
    if message.content_type not in COPYABLE:
        return
    relayed = await desk.relay.curator_message(
        chat_id=message.chat.id, message_id=message.message_id, thread_id=thread_id, reply_to=reply_to, to_bot=to_bot
    )
    if relayed is Relayed.UNKNOWN:  # a reply meant for a student is never dropped silently
        await message.reply(
            t("⚠️ Not sent: I do not know which student this is for. Reply to the student's question or alert.")
        )


def build_router(chat_id: int) -> Router:
    router = Router(name=__name__)
    # presses are checked against the alert's stored message, wherever they come from
    router.callback_query.register(press, AlertPress.filter(), CuratorOnly())
    router.callback_query.register(
        refuse(N_("Only curators can use these buttons."), show_alert=True), AlertPress.filter()
    )
    router.message.filter(F.chat.id == chat_id)
    router.message.register(staff_message)
    return router

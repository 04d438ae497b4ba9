"""The student's side of the relay: /curator (or the button), then the next message goes to the curators."""

from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.callbacks import AskCurator
from bot.curator.desk import CuratorDesk
from bot.curator.relay import Ask, TooSoon
from bot.i18n import Translator
from bot.render import notice_text, when
from journeys.clock import Clock
from journeys.notices import NoticeKey

QUESTION_TYPES = frozenset({"text", "photo", "document", "voice", "video"})


def _prompt(outcome: Ask, t: Translator) -> str:
    if outcome is Ask.OFF:
        return t("The school has no curator chat yet, so I cannot pass on questions.")
    if outcome is Ask.UNKNOWN:
        return notice_text(NoticeKey.NOT_ENROLLED, t)
    return t(
        "Write your question in one message: text, a photo, a document, a voice message or a video. "
        "I will pass it on to the curators. /cancel if you changed your mind."
    )


async def ask_command(message: Message, desk: CuratorDesk, t: Translator) -> None:
    assert message.from_user is not None
    await message.answer(_prompt(await desk.relay.ask(message.from_user.id), t))


async def ask_button(query: CallbackQuery, desk: CuratorDesk, bot: Bot, t: Translator) -> None:
    outcome = await desk.relay.ask(query.from_user.id)
    await query.answer()
    await bot.send_message(query.from_user.id, _prompt(outcome, t))


async def awaiting_question(message: Message, desk: CuratorDesk) -> bool:
    return message.from_user is not None and await desk.relay.asking(message.from_user.id)


async def cancel(message: Message, desk: CuratorDesk, t: Translator) -> None:
    assert message.from_user is not None
    await desk.relay.cancel_question(message.from_user.id)
    await message.answer(t("OK, no question then."))


async def question(message: Message, desk: CuratorDesk, clock: Clock, t: Translator) -> None:
    assert message.from_user is not None
    if message.content_type not in QUESTION_TYPES or (message.text or "").startswith("/"):
        await message.answer(t("Please send text, a photo, a document, a voice message or a video, or /cancel."))
        return
    relayed = await desk.relay.relay_question(message.from_user.id, message.message_id)
    if isinstance(relayed, TooSoon):
        await message.reply(
            t(
                "I passed on {n} of your questions in the last few minutes, so this one was not forwarded yet. "
                "Please send it again after {time} (/curator).",
                n=relayed.relayed,
                time=_moment(relayed, clock.now(), t),
            )
        )
    elif relayed:
        await message.reply(t("✓ Passed on to the curators. Their answer will come here."))
    else:  # a second message sent together with the question: the question went, this one did not
        await message.reply(
            t("This message was not passed on: your question went just before it. To add to it, send /curator again.")
        )


def _moment(too_soon: TooSoon, now: datetime, t: Translator) -> str:
    """Just the time when it is later today on the student's clock, else the date too."""
    at = too_soon.retry_at.astimezone(too_soon.tz)
    if at.date() == now.astimezone(too_soon.tz).date():
        return at.strftime("%H:%M")
    return when(too_soon.retry_at, t, too_soon.tz)


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(ask_command, Command("curator"))
    router.callback_query.register(ask_button, AskCurator.filter())
    router.message.register(cancel, Command("cancel"), awaiting_question)
    router.message.register(question, awaiting_question)
    return router

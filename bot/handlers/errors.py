"""The last word on an update that failed: the person is told, the failure is logged once, nothing is silent.

- A reply Telegram refused because the chat is gone (blocked, deleted, deactivated): the student is marked
  unreachable, like the sender does for queued messages; there is nobody to tell.
- The database is down (asked of the database itself, see bot/db/health.py): one line per update, no traceback;
  the person is asked to try again in a minute.
- Anything else is a bug: its traceback, once, with the update id; the person is asked to try again.

A press is answered (answerCallbackQuery), a private message gets a message; group chatter is only logged.
"""

import logging

from aiogram import Bot, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent, Update

from bot.db.health import DatabaseHealth, DatabaseUnavailable
from bot.i18n import Translations
from bot.render import N_
from bot.services.reachability import Reachability
from bot.services.student_path import language_of
from bot.telegram_errors import TelegramFailure, classify, describe, reason

log = logging.getLogger(__name__)

TRY_AGAIN = N_("Something went wrong. Please try again in a minute.")


async def on_error(
    event: ErrorEvent, bot: Bot, health: DatabaseHealth, reachability: Reachability, translations: Translations
) -> None:
    update, error = event.update, event.exception
    if isinstance(error, TelegramAPIError):
        failure = classify(error)
        chat_id = getattr(error.method, "chat_id", None)
        if failure.unreachable and isinstance(chat_id, int) and chat_id > 0:  # a private chat: the user's own id
            await _unreachable(reachability, update, chat_id, failure, error)
            if chat_id == _user_id(update):
                return  # the one to tell is the one we cannot reach
        else:
            log.warning("update %s: Telegram refused a reply: %s", update.update_id, describe(error))
    elif isinstance(error, DatabaseUnavailable) or await health.is_outage():
        health.turned_away += 1
        cause = "not tried" if isinstance(error, DatabaseUnavailable) else describe(error).splitlines()[0]
        log.warning("update %s not handled: the database is unavailable (%s)", update.update_id, cause)
    else:
        log.error("update %s failed", update.update_id, exc_info=error)
    await _tell(bot, update, translations)


async def _unreachable(
    reachability: Reachability, update: Update, chat_id: int, failure: TelegramFailure, error: TelegramAPIError
) -> None:
    try:
        marked = await reachability.reply_failed(chat_id, failure, f"chat unreachable: {reason(error)}")
    except Exception as e:  # the database may be down too: the sender finds out on its next message
        log.warning("update %s: chat %s unreachable (%s), not marked: %s", update.update_id, chat_id, failure, e)
        return
    what = "student marked blocked" if marked else "not a student"
    log.info("update %s: chat %s unreachable (%s), %s", update.update_id, chat_id, describe(error), what)


def _user_id(update: Update) -> int | None:
    source = update.callback_query or update.message
    return source.from_user.id if source is not None and source.from_user is not None else None


async def _tell(bot: Bot, update: Update, translations: Translations) -> None:
    query, message = update.callback_query, update.message
    user = query.from_user if query else message.from_user if message else None
    t = translations.get(language_of(user.language_code if user else None))
    try:
        if query is not None:
            try:
                await bot.answer_callback_query(query.id, t(TRY_AGAIN), show_alert=True)
            except TelegramAPIError as e:
                if classify(e) is not TelegramFailure.QUERY_EXPIRED:
                    raise
                await bot.send_message(query.from_user.id, t(TRY_AGAIN))  # the press was answered before it failed
        elif message is not None and message.chat.type == ChatType.PRIVATE:
            await bot.send_message(message.chat.id, t(TRY_AGAIN))
    except TelegramAPIError as e:
        log.warning("update %s: could not tell the user either: %s", update.update_id, describe(e))


def build_router() -> Router:
    router = Router(name=__name__)
    router.errors.register(on_error)
    return router

"""What a failed Bot API call means for us, decided in one place for every caller.

aiogram raises by HTTP status; what to do next (stop writing to the chat, recreate a topic, retry later,
ignore) depends on Telegram's description too. The sender, the desk, topics, broadcasts and direct replies all
ask `classify` instead of matching error strings of their own.
"""

from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)

from bot.telegram_failure import TelegramFailure

__all__ = ["TelegramFailure", "classify", "describe", "reason"]

# Telegram's descriptions, lower-cased; they are stable in practice but not a documented contract
_CHAT_GONE = ("chat not found", "user not found", "peer_id_invalid", "have no access to the chat", "chat_id_invalid")
_THREAD_GONE = ("thread not found", "topic_deleted", "topic_id_invalid")
_MESSAGE_GONE = (
    "message to edit not found",
    "message to delete not found",
    "message to pin not found",
    "message to reply not found",
    "message not found",
    "message can't be edited",
)
_QUERY_EXPIRED = ("query is too old", "query id is invalid")


def classify(error: BaseException) -> TelegramFailure:
    if isinstance(error, TelegramRetryAfter):
        return TelegramFailure.RETRY_AFTER
    if not isinstance(error, TelegramAPIError):
        return TelegramFailure.INTERNAL
    if isinstance(error, TelegramEntityTooLarge):
        return TelegramFailure.REFUSED
    if isinstance(error, TelegramServerError | TelegramNetworkError):
        return TelegramFailure.TRANSIENT
    if isinstance(error, TelegramForbiddenError):
        return TelegramFailure.BLOCKED
    if isinstance(error, TelegramMigrateToChat):
        return TelegramFailure.CHAT_GONE  # the group became a supergroup with a new id
    text = error.message.lower()
    if isinstance(error, TelegramBadRequest | TelegramNotFound):
        if "not modified" in text:
            return TelegramFailure.NOT_MODIFIED
        for markers, failure in (
            (_THREAD_GONE, TelegramFailure.THREAD_GONE),
            (_MESSAGE_GONE, TelegramFailure.MESSAGE_GONE),
            (_QUERY_EXPIRED, TelegramFailure.QUERY_EXPIRED),
            (_CHAT_GONE, TelegramFailure.CHAT_GONE),
        ):
            if any(marker in text for marker in markers):
                return failure
    return TelegramFailure.REFUSED


def describe(error: BaseException) -> str:
    """For logs and `last_error`: the error's class and Telegram's words."""
    message = error.message if isinstance(error, TelegramAPIError) else str(error)
    return f"{type(error).__name__}: {message}"[:500]


def reason(error: BaseException) -> str:
    """What went wrong, for people: Telegram's description, or the error for our own failures."""
    return error.message[:500] if isinstance(error, TelegramAPIError) else describe(error)

"""The kinds of Bot API failure (kept apart from aiogram, so tables can store them without importing it)."""

from enum import StrEnum


class TelegramFailure(StrEnum):
    BLOCKED = "blocked"  # the user blocked the bot, deleted or deactivated the account; the bot left a group
    CHAT_GONE = "chat_gone"  # the chat does not exist (any more) or the bot never met the user
    THREAD_GONE = "thread_gone"  # the forum topic was deleted
    NOT_MODIFIED = "not_modified"  # an edit that would change nothing: already showing it
    MESSAGE_GONE = "message_gone"  # the message to edit, pin or reply to was deleted
    QUERY_EXPIRED = "query_expired"  # a callback query answered too late or twice
    RETRY_AFTER = "retry_after"  # flood control: wait `retry_after` seconds and send again
    TRANSIENT = "transient"  # Telegram's servers or the network: the same call may succeed later
    REFUSED = "refused"  # Telegram refused this request as it is (bad markup, too long, no rights)
    INTERNAL = "internal"  # not a Telegram error at all: our own failure

    @property
    def unreachable(self) -> bool:
        """Nothing more can reach this chat until the user comes back."""
        return self in (TelegramFailure.BLOCKED, TelegramFailure.CHAT_GONE)

    @property
    def retryable(self) -> bool:
        return self in (TelegramFailure.TRANSIENT, TelegramFailure.INTERNAL)

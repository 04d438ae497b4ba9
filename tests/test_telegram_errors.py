"""One classifier of Bot API failures for every caller."""

import pytest
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage

from bot.telegram_errors import TelegramFailure, classify, describe, reason

METHOD = SendMessage(chat_id=1, text="hi")


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (TelegramForbiddenError(METHOD, "Forbidden: bot was blocked by the user"), TelegramFailure.BLOCKED),
        (TelegramForbiddenError(METHOD, "Forbidden: user is deactivated"), TelegramFailure.BLOCKED),
        (TelegramBadRequest(METHOD, "Bad Request: chat not found"), TelegramFailure.CHAT_GONE),
        (TelegramBadRequest(METHOD, "Bad Request: PEER_ID_INVALID"), TelegramFailure.CHAT_GONE),
        (TelegramBadRequest(METHOD, "Bad Request: message thread not found"), TelegramFailure.THREAD_GONE),
        (TelegramBadRequest(METHOD, "Bad Request: TOPIC_DELETED"), TelegramFailure.THREAD_GONE),
        (
            TelegramBadRequest(METHOD, "Bad Request: message is not modified: specified new message content"),
            TelegramFailure.NOT_MODIFIED,
        ),
        (TelegramBadRequest(METHOD, "Bad Request: message to edit not found"), TelegramFailure.MESSAGE_GONE),
        (
            TelegramBadRequest(METHOD, "Bad Request: query is too old and response timeout expired"),
            TelegramFailure.QUERY_EXPIRED,
        ),
        (TelegramBadRequest(METHOD, "Bad Request: message is too long"), TelegramFailure.REFUSED),
        (TelegramRetryAfter(METHOD, "Too Many Requests: retry after 3", retry_after=3), TelegramFailure.RETRY_AFTER),
        (TelegramServerError(METHOD, "Internal Server Error"), TelegramFailure.TRANSIENT),
        (TelegramNetworkError(METHOD, "connection reset"), TelegramFailure.TRANSIENT),
        (TelegramEntityTooLarge(METHOD, "Request Entity Too Large"), TelegramFailure.REFUSED),
        (RuntimeError("database went away"), TelegramFailure.INTERNAL),
    ],
)
def test_classify_says_what_a_failure_means(error: BaseException, kind: TelegramFailure) -> None:
    assert classify(error) is kind


def test_only_blocked_and_gone_chats_are_unreachable_and_only_transient_ones_are_retried() -> None:
    assert {k for k in TelegramFailure if k.unreachable} == {TelegramFailure.BLOCKED, TelegramFailure.CHAT_GONE}
    assert {k for k in TelegramFailure if k.retryable} == {TelegramFailure.TRANSIENT, TelegramFailure.INTERNAL}


def test_describe_is_for_logs_and_reason_for_people() -> None:
    error = TelegramForbiddenError(METHOD, "Forbidden: bot was blocked by the user")
    assert describe(error) == "TelegramForbiddenError: Forbidden: bot was blocked by the user"
    assert reason(error) == "Forbidden: bot was blocked by the user"
    assert len(describe(RuntimeError("x" * 900))) == 500

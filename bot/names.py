"""People's names and ids as Telegram sends them, fitted to what we store.

Telegram allows 64 characters for a first and a last name (so a full name is up to 129) and 128 for a chat
title; our columns hold 128. Anything shown to people is cut with an ellipsis, so the cut is visible.
"""

import re

# BigInteger columns; also SQLite's INTEGER. Here rather than in bot.callbacks, so the CLI needs no aiogram import.
BIGINT_MAX = 2**63 - 1


ELLIPSIS = "…"
NAME_LENGTH = 128  # the String(128) columns that keep names: staff, students, alert takers
_DIGITS = re.compile(r"-?[0-9]+")


def fit(text: str, limit: int = NAME_LENGTH) -> str:
    """`text` in at most `limit` characters, ending in an ellipsis when it had to be cut."""
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS


def parse_id(text: str, *, chat: bool = False) -> int | None:
    """A user id (or, with chat=True, a chat id, which may be negative) typed by a person; None if it is not one.

    Only ASCII digits: str.isdigit() and int() also accept "²" or "٣", which are not ids. Within BIGINT, the
    columns ids are stored in.
    """
    if len(text) > 20 or not _DIGITS.fullmatch(text) or (text.startswith("-") and not chat):
        return None
    value = int(text)
    return value if value != 0 and -BIGINT_MAX <= value <= BIGINT_MAX else None

"""Ids typed by people and names sent by Telegram, fitted to what we store."""

import pytest

from bot.curator.cards import topic_name
from bot.db.models import Student
from bot.names import fit, parse_id


@pytest.mark.parametrize(
    ("typed", "user", "chat"),
    [
        ("42", 42, 42),
        ("-1001234567890", None, -1001234567890),
        ("9223372036854775807", 9223372036854775807, 9223372036854775807),
        ("9223372036854775808", None, None),  # one past BIGINT
        ("12345678901234567890123", None, None),
        ("²", None, None),  # str.isdigit() says yes
        ("٣", None, None),  # int() says 3
        ("4２", None, None),  # a full-width digit
        ("0", None, None),
        ("-0", None, None),
        ("+5", None, None),
        ("5 ", None, None),
        ("5\n", None, None),
        ("", None, None),
        ("1" * 5000, None, None),  # int() refuses over 4300 digits with a ValueError of its own
    ],
)
def test_ids_are_ascii_digits_within_bigint(typed: str, user: int | None, chat: int | None) -> None:
    assert parse_id(typed) == user
    assert parse_id(typed, chat=True) == chat


def test_fit_cuts_with_an_ellipsis_only_when_needed() -> None:
    assert fit("Ann") == "Ann"
    assert fit("a" * 128) == "a" * 128
    assert fit("a" * 129) == "a" * 127 + "…"
    assert fit("ab   cd", 6) == "ab…"  # no dangling space before the ellipsis


def test_topic_name_of_the_longest_telegram_name_fits_with_an_ellipsis() -> None:
    student = Student(telegram_id=1, first_name="Б" * 64, last_name="Ж" * 64, username="u" * 32)
    name = topic_name(student)
    assert len(name) == 128 and name.endswith("…") and name.startswith("Б" * 64)

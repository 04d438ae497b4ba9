"""The ledger's plain parts: when a repeated payment is the same payment, installments, amounts as read, and
the signed student token, on plain data."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.revenue.money import format_amount
from bot.revenue.tokens import BadToken, StudentToken, StudentTokens
from journeys.purchases import PaymentTerms, differences

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_a_repeat_differs_only_in_what_it_changes_and_offsets_are_the_same_instant() -> None:
    stored = PaymentTerms("club", 199000, "RUB", NOW, installment=1, installments=3)
    moscow = NOW.astimezone(timezone(timedelta(hours=3)))
    assert differences(stored, PaymentTerms("club", 199000, "RUB", moscow, installment=1, installments=3)) == ()
    changed = PaymentTerms("mentor", 199001, "RUB", NOW, installment=2, installments=3)
    assert differences(stored, changed) == ("product_id", "amount", "installment")


def test_only_a_one_off_payment_or_the_last_installment_completes_the_plan() -> None:
    assert PaymentTerms("club", 1, "RUB", NOW).completes_plan
    assert not PaymentTerms("club", 1, "RUB", NOW, installment=2, installments=3).completes_plan
    assert PaymentTerms("club", 1, "RUB", NOW, installment=3, installments=3).completes_plan


@pytest.mark.parametrize(
    "kwargs",
    [
        {"amount": 0},
        {"period_start": NOW, "period_end": NOW},
        {"installment": 1},
        {"installment": 4, "installments": 3},
        {"installment": 0, "installments": 3},
    ],
)
def test_impossible_terms_are_refused(kwargs: dict[str, object]) -> None:
    values: dict[str, object] = {"product_id": "club", "amount": 100, "currency": "RUB", "paid_at": NOW} | kwargs
    with pytest.raises(ValueError):
        PaymentTerms(**values)  # type: ignore[arg-type]


def test_amounts_read_in_the_currency_s_own_minor_units() -> None:
    assert format_amount(199000, "RUB") == "1990.00 RUB"
    assert format_amount(5, "EUR") == "0.05 EUR"
    assert format_amount(1500, "JPY") == "1500 JPY"
    assert format_amount(1234, "KWD") == "1.234 KWD"
    assert format_amount(500, "XTR") == "500 ⭐"


def test_token_round_trip_carries_student_enrollment_offer_and_expiry() -> None:
    tokens = StudentTokens("s3cret")
    token = tokens.issue(42, now=NOW, enrollment_id=7, offer_id="next-course_2", ttl=timedelta(days=2))
    assert token.startswith("1.42.7.") and len(token) <= 70
    assert all(c.isalnum() or c in "._-" for c in token)  # a query parameter as it is
    assert tokens.read(token, NOW + timedelta(days=1)) == StudentToken(42, NOW + timedelta(days=2), 7, "next-course_2")
    assert tokens.read(tokens.issue(42, now=NOW), NOW) == StudentToken(42, NOW + timedelta(days=30))
    with pytest.raises(BadToken, match="expired"):
        tokens.read(token, NOW + timedelta(days=2))
    with pytest.raises(BadToken, match="bad signature"):
        StudentTokens("other secret").read(token, NOW)


@given(st.integers(1, 2**63 - 1), st.integers(0, 5), st.text(alphabet="0123456789.-_aZ", max_size=3))
def test_any_change_to_a_token_breaks_it(student_id: int, position: int, insert: str) -> None:
    tokens = StudentTokens("s3cret")
    token = tokens.issue(student_id, now=NOW, enrollment_id=3, offer_id="club")
    parts = token.split(".")
    parts[position] = parts[position] + insert if insert else parts[position][:-1]
    tampered = ".".join(parts)
    if tampered != token:
        with pytest.raises(BadToken):
            tokens.read(tampered, NOW)


def test_tokens_refuse_what_they_cannot_carry() -> None:
    tokens = StudentTokens("s3cret")
    for bad in ({"student_id": 0}, {"student_id": 2**63}, {"student_id": 1, "offer_id": "a.b"}):
        with pytest.raises(ValueError):
            tokens.issue(now=NOW, **bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        StudentTokens("")

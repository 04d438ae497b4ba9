"""journeys/club.py on plain data: what is due for a membership, and when the bot must look again."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from journeys.club import (
    ClubState,
    ClubStatus,
    ClubTerms,
    RemindRenewal,
    RemoveMember,
    SendInvite,
    SendWinback,
    club_action,
    next_club_check,
    period_end,
)

DAY = timedelta(days=1)
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
TERMS = ClubTerms(grace=3 * DAY, reminder=3 * DAY, winback=14 * DAY)
PAID = ClubState(
    status=ClubStatus.ACTIVE,
    access_until=NOW + 30 * DAY,
    auto_renew=False,
    invited=False,
    reminded_for=None,
    removed_at=None,
    winback_sent=False,
)


def test_a_new_member_is_invited_at_once_and_then_reminded_before_the_end() -> None:
    assert club_action(PAID, TERMS, NOW) == SendInvite()
    assert next_club_check(PAID, TERMS, NOW) == NOW
    invited = replace(PAID, invited=True)
    assert club_action(invited, TERMS, NOW) is None
    assert next_club_check(invited, TERMS, NOW) == NOW + 27 * DAY
    assert club_action(invited, TERMS, NOW + 27 * DAY) == RemindRenewal(NOW + 30 * DAY)
    reminded = replace(invited, reminded_for=NOW + 30 * DAY)
    assert club_action(reminded, TERMS, NOW + 27 * DAY) is None
    assert next_club_check(reminded, TERMS, NOW + 27 * DAY) == NOW + 33 * DAY  # the end of the grace


def test_a_renewing_subscription_gets_no_reminder_and_a_lapsed_one_is_removed_after_the_grace() -> None:
    renewing = replace(PAID, invited=True, auto_renew=True)
    assert next_club_check(renewing, TERMS, NOW) == NOW + 33 * DAY
    assert club_action(renewing, TERMS, NOW + 32 * DAY) is None  # in the grace: the renewal may still come
    assert club_action(renewing, TERMS, NOW + 33 * DAY) == RemoveMember(revoked=False)


def test_a_refund_removes_at_once_and_a_removed_member_gets_one_winback() -> None:
    assert club_action(replace(PAID, status=ClubStatus.REVOKED), TERMS, NOW) == RemoveMember(revoked=True)
    removed = replace(PAID, status=ClubStatus.REMOVED, invited=True, removed_at=NOW)
    assert next_club_check(removed, TERMS, NOW) == NOW + 14 * DAY
    assert club_action(removed, TERMS, NOW + 14 * DAY) == SendWinback()
    assert next_club_check(replace(removed, winback_sent=True), TERMS, NOW + 14 * DAY) is None


def test_a_period_without_an_end_lasts_a_month() -> None:
    assert period_end(NOW, None) == NOW + 30 * DAY
    assert period_end(NOW, NOW + 7 * DAY) == NOW + 7 * DAY


states = st.builds(
    ClubState,
    status=st.sampled_from(ClubStatus),
    access_until=st.integers(-60, 60).map(lambda d: NOW + d * DAY),
    auto_renew=st.booleans(),
    invited=st.booleans(),
    reminded_for=st.none() | st.integers(-60, 60).map(lambda d: NOW + d * DAY),
    removed_at=st.none() | st.integers(-60, 0).map(lambda d: NOW + d * DAY),
    winback_sent=st.booleans(),
)


@given(states, st.integers(0, 24 * 90))
def test_nothing_falls_due_before_the_next_check(state: ClubState, hours: int) -> None:
    """The due column is honest: between now and next_club_check nothing is due, and at it something may be."""
    due = next_club_check(state, TERMS, NOW)
    later = NOW + timedelta(hours=hours)
    if due is None or later < due:
        assert club_action(state, TERMS, later) is None or due == NOW
    assert due is None or due >= NOW

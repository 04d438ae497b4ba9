"""The graduate club's lifecycle on plain data: what is due for one membership now, and when to look again.

The bot keeps a `ClubState` per member (club_memberships), calls `club_action` when the row's due time comes,
does what it says (a Telegram call, an outbox row), stores the changed state and `next_club_check` as the new
due time, so the ticker finds every membership with one indexed query.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

MONTH = timedelta(days=30)  # a period without an end of its own (and a Stars subscription's)


class ClubStatus(StrEnum):
    ACTIVE = "active"  # paid: invited, in the group until access_until plus the grace
    REVOKED = "revoked"  # refunded: removed at once, without grace
    REMOVED = "removed"  # out of the group; paying again makes them active


class ClubSource(StrEnum):
    """What pays for the current period."""

    STARS_SUBSCRIPTION = "stars_subscription"  # renews by itself until the member cancels it
    STARS = "stars"  # a one-off Stars payment
    SCHOOL = "school"  # the school's own checkout


@dataclass(frozen=True)
class ClubTerms:
    grace: timedelta  # after access_until, before removal
    reminder: timedelta  # before a non-automatic period ends
    winback: timedelta  # after removal, one win-back message


@dataclass(frozen=True)
class ClubState:
    status: ClubStatus
    access_until: datetime
    auto_renew: bool  # a Stars subscription that has not been cancelled
    invited: bool  # holds a personal invite link
    reminded_for: datetime | None  # the access_until the renewal reminder was sent for
    removed_at: datetime | None
    winback_sent: bool

    def has_access(self, now: datetime) -> bool:
        return self.status is ClubStatus.ACTIVE and now < self.access_until


@dataclass(frozen=True)
class SendInvite:
    pass


@dataclass(frozen=True)
class RemindRenewal:
    access_until: datetime


@dataclass(frozen=True)
class RemoveMember:
    revoked: bool  # refunded rather than expired


@dataclass(frozen=True)
class SendWinback:
    pass


ClubAction = SendInvite | RemindRenewal | RemoveMember | SendWinback


def club_action(state: ClubState, terms: ClubTerms, now: datetime) -> ClubAction | None:
    """The one thing due for this membership now (the next call, after it is done, finds the next)."""
    match state.status:
        case ClubStatus.REVOKED:
            return RemoveMember(revoked=True)
        case ClubStatus.ACTIVE:
            if now >= state.access_until + terms.grace:
                return RemoveMember(revoked=False)
            if not state.invited and now < state.access_until:
                return SendInvite()
            if _reminder_due(state, terms, now):
                return RemindRenewal(state.access_until)
            return None
        case ClubStatus.REMOVED:
            winback_at = _winback_at(state, terms)
            return SendWinback() if winback_at is not None and now >= winback_at else None
    raise AssertionError(state.status)


def next_club_check(state: ClubState, terms: ClubTerms, now: datetime) -> datetime | None:
    """When `club_action` next has something to do (now, if it has already); None: nothing ever again."""
    if club_action(state, terms, now) is not None:
        return now
    if state.status is ClubStatus.REMOVED:
        return _winback_at(state, terms)
    times = [state.access_until + terms.grace]
    if _wants_reminder(state) and now < state.access_until - terms.reminder:
        times.append(state.access_until - terms.reminder)
    return min(times)


def _wants_reminder(state: ClubState) -> bool:
    return not state.auto_renew and state.reminded_for != state.access_until


def _reminder_due(state: ClubState, terms: ClubTerms, now: datetime) -> bool:
    return _wants_reminder(state) and state.access_until - terms.reminder <= now < state.access_until


def _winback_at(state: ClubState, terms: ClubTerms) -> datetime | None:
    if state.winback_sent or state.removed_at is None:
        return None
    return state.removed_at + terms.winback


def period_end(paid_at: datetime, period_end: datetime | None) -> datetime:
    """Until when a purchase gives access: its own period's end, else a month from its payment."""
    return period_end if period_end is not None else paid_at + MONTH

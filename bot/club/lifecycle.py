"""The club's ticker job: personal invite links, renewal reminders, removal after the grace, one win-back.

Due memberships are claimed by their indexed next_check_at (FOR UPDATE SKIP LOCKED, so instances share the
work on PostgreSQL), journeys/club.py says what is due, and the answer is applied: an outbox row, or a Telegram
call to the club group. Those calls run outside any transaction (the claim pushes next_check_at a lease ahead
first); a call that fails is tried again after RETRY, and a missing admin right tells the admins once.
"""

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from sqlalchemy import select

from bot.club.messages import ClubTexts
from bot.club.rights import ClubRights
from bot.db.models import ClubMembership, Student
from bot.db.uow import UnitOfWork
from bot.names import fit
from bot.outbox.payloads import (
    ClubInvitePayload,
    ClubReminderPayload,
    ClubRemovedPayload,
    ClubWinbackPayload,
    Payload,
)
from bot.outbox.queue import enqueue
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
)
from journeys.events import EventType

log = logging.getLogger(__name__)

BATCH = 200
LEASE = timedelta(minutes=10)  # a claimed row waits this long for the instance that claimed it
RETRY = timedelta(minutes=10)  # a club call that failed is tried again this much later
LINK_NAME = 32  # Telegram keeps 32 characters of an invite link's name


def state_of(membership: ClubMembership) -> ClubState:
    return ClubState(
        status=membership.status,
        access_until=membership.access_until,
        auto_renew=membership.auto_renew,
        invited=membership.invite_link is not None,
        reminded_for=membership.reminded_for,
        removed_at=membership.removed_at,
        winback_sent=membership.winback_sent_at is not None,
    )


def link_name(student: Student) -> str:
    """Names the student the link was made for, for the staff reading the group's links."""
    return fit(f"club #{student.id} {student.display_name}", LINK_NAME)


class ClubLifecycle:
    def __init__(self, chat_id: int, bot: Bot, terms: ClubTerms, texts: ClubTexts, rights: ClubRights) -> None:
        self.chat_id, self.bot, self.terms, self.texts, self.rights = chat_id, bot, terms, texts, rights

    def reschedule(self, membership: ClubMembership, now: datetime) -> None:
        membership.next_check_at = next_club_check(state_of(membership), self.terms, now)

    async def tick(self, uow: UnitOfWork, now: datetime) -> int:
        rows = (
            await uow.session.execute(
                select(ClubMembership, Student)
                .join(Student, Student.id == ClubMembership.student_id)
                .where(ClubMembership.next_check_at <= now)
                .order_by(ClubMembership.next_check_at)
                .limit(BATCH)
                .with_for_update(skip_locked=True, of=ClubMembership)
            )
        ).all()
        calls: list[tuple[ClubMembership, Student, SendInvite | RemoveMember]] = []
        for membership, student in rows:
            action = club_action(state_of(membership), self.terms, now)
            if isinstance(action, SendInvite | RemoveMember):
                membership.next_check_at = now + LEASE
                calls.append((membership, student, action))
                continue
            if isinstance(action, RemindRenewal):
                until, tz = action.access_until, ZoneInfo(student.timezone)
                reminder = ClubReminderPayload(messages=(self.texts.reminder(student.language, until, tz),))
                await self._queue(uow, student, f"reminder:{until.timestamp():.0f}", reminder, now)
                membership.reminded_for = until
            elif isinstance(action, SendWinback):
                winback = ClubWinbackPayload(messages=(self.texts.winback(student.language),))
                await self._queue(uow, student, f"winback:{membership.granted_at.timestamp():.0f}", winback, now)
                membership.winback_sent_at = now
            self.reschedule(membership, now)
        if not calls:
            return len(rows)
        await uow.commit()  # the claims: no transaction stays open across the calls to Telegram
        for membership, student, action in calls:
            try:
                if isinstance(action, SendInvite):
                    await self._invite(uow, membership, student, now)
                else:
                    await self._remove(uow, membership, student, action, now)
            except TelegramAPIError as error:
                await self.rights.failed(uow, error, type(action).__name__, now)
                membership.next_check_at = now + RETRY
            else:
                await self.rights.working(uow)
                self.reschedule(membership, now)
        return len(rows)

    async def _invite(self, uow: UnitOfWork, membership: ClubMembership, student: Student, now: datetime) -> None:
        link = await self.bot.create_chat_invite_link(self.chat_id, name=link_name(student), creates_join_request=True)
        membership.invite_link, membership.invited_at = link.invite_link, now
        invite = ClubInvitePayload(messages=(self.texts.invite(student.language, link.invite_link),))
        await self._queue(uow, student, f"invite:{link.invite_link}", invite, now)

    async def _remove(
        self, uow: UnitOfWork, membership: ClubMembership, student: Student, action: RemoveMember, now: datetime
    ) -> None:
        # a ban takes them out; lifting it at once lets them come back once they pay again
        await self.bot.ban_chat_member(self.chat_id, student.telegram_id)
        await self.bot.unban_chat_member(self.chat_id, student.telegram_id, only_if_banned=True)
        membership.status, membership.removed_at, membership.auto_renew = ClubStatus.REMOVED, now, False
        uow.events.record(EventType.CLUB_REMOVED, now, student_id=student.id, refunded=action.revoked)
        removed = ClubRemovedPayload(messages=(self.texts.removed(student.language, refunded=action.revoked),))
        await self._queue(uow, student, f"removed:{membership.granted_at.timestamp():.0f}", removed, now)

    async def _queue(self, uow: UnitOfWork, student: Student, key: str, payload: Payload, now: datetime) -> None:
        if student.blocked_at is None:
            await enqueue(
                uow.session,
                key=f"club:{key}:{student.id}",
                payload=payload,
                chat_id=student.telegram_id,
                student_id=student.id,
                due_at=now,
                now=now,
            )

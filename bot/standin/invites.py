"""Invite links and join requests: the Bot API methods that make, change and revoke links and answer requests,
and what a person does with a link (opens it: joins, asks to join, or is turned away)."""

from __future__ import annotations

import re
from typing import Any

from bot.standin.client import FakeUser
from bot.standin.membership import ERRORS, IN_CHAT, MembershipMethods
from bot.standin.records import ApiCall, FakeChat, InviteLink, JoinRequest, JoinResult, bad

SUBSCRIPTION_PERIOD = 2592000  # 30 days: the only period Telegram accepts
MAX_SUBSCRIPTION_PRICE = 10000
NAME_LENGTH = 32


def _int(value: Any, low: int, high: int) -> int:
    """An integer argument as the Bot API server reads it: garbage is 0, the rest clamped to [low, high]."""
    number = value if isinstance(value, int) else int(value) if re.fullmatch(r"-?\d{1,18}", str(value)) else 0
    return min(max(number, low), high)


def _name(value: Any) -> str:
    # Telegram does not refuse a long name: like tdlib's clean_name it trims it, cuts it to 32 characters and
    # then collapses its runs of spaces
    return re.sub(r"[ \n\u00a0]+", " ", str(value or "").strip()[:NAME_LENGTH].strip()).strip()


class InviteMethods(MembershipMethods):
    """create/edit/revoke/exportChatInviteLink, the subscription links, approve/declineChatJoinRequest."""

    # ----- the Bot API methods: links ------------------------------------------------------------

    def _create_link(self, p: dict[str, Any], c: ApiCall) -> dict[str, Any]:
        chat = self._chat(p)
        terms = self._terms(p, chat)
        link = self._new_link(chat)
        link.name, link.expire_date, link.member_limit, link.creates_join_request = terms
        return link.as_dict()

    def _edit_link(self, p: dict[str, Any], c: ApiCall) -> dict[str, Any]:
        chat = self._chat(p)
        self._link_rights(chat)  # an edit checks the rights before the terms (a new link, after)
        terms = self._terms(p, chat)
        link = self._bot_link(chat, p)
        # every term is replaced: one left out of the call is cleared, as the Bot API server sends them all
        link.name, link.expire_date, link.member_limit, link.creates_join_request = terms
        return link.as_dict(self._pending_count(link))

    def _revoke_link(self, p: dict[str, Any], c: ApiCall) -> dict[str, Any]:
        chat = self._chat(p)
        self._link_rights(chat)
        link = self._bot_link(chat, p)
        link.is_revoked = True  # its pending requests stay for the administrators to decide
        if link.is_primary:  # Telegram makes a new primary link at once
            self._new_link(chat).is_primary = True
        return link.as_dict(self._pending_count(link))

    def _export_link(self, p: dict[str, Any], c: ApiCall) -> str:
        chat = self._chat(p)
        self._link_rights(chat)
        for link in self._links_of(chat):
            link.is_revoked = link.is_revoked or link.is_primary
        primary = self._new_link(chat)
        primary.is_primary = True
        return primary.url

    def _create_subscription_link(self, p: dict[str, Any], c: ApiCall) -> dict[str, Any]:
        chat = self._chat(p)
        self._link_rights(chat)
        period = _int(p.get("subscription_period"), 0, 10**9)
        price = _int(p.get("subscription_price"), 0, 10**6)
        if not period or not price:
            raise bad(ERRORS["pricing"])
        if period != SUBSCRIPTION_PERIOD:
            raise bad(ERRORS["period"])
        if price > MAX_SUBSCRIPTION_PRICE:
            raise bad(ERRORS["price"])
        if chat.type != "channel":
            raise bad(ERRORS["not_channel"])
        link = self._new_link(chat)
        link.name, link.subscription_period, link.subscription_price = _name(p.get("name")), period, price
        return link.as_dict()

    def _edit_subscription_link(self, p: dict[str, Any], c: ApiCall) -> dict[str, Any]:
        chat = self._chat(p)
        self._link_rights(chat)
        link = self._bot_link(chat, p)
        link.name = _name(p.get("name"))  # only the name: price and period are fixed
        return link.as_dict(self._pending_count(link))

    # ----- the Bot API methods: join requests ----------------------------------------------------

    def _answer_join_request(self, p: dict[str, Any], approve: bool) -> bool:
        chat = self._chat(p)
        if chat.user:
            raise bad(ERRORS["requests_private"])
        if not self._bot_can(chat, "can_invite_users"):
            raise bad(ERRORS["requests_rights"])
        user_id = p.get("user_id", 0)
        if approve and self._status(chat, user_id) in IN_CHAT:
            raise bad(ERRORS["participant"])
        request = self.join_requests.pop((chat.id, user_id), None)
        if request is None:
            raise bad(ERRORS["no_request"])
        self._emit(f"bot {'✓ approves' if approve else '✗ declines'} {self._name(user_id)} @ {chat.label}")
        if approve:
            self._join(chat, user_id, self.links.get(request.link), by=self.bot_user)
        return True

    # ----- what a person does --------------------------------------------------------------------

    def open_invite(self, user: FakeUser | int, url: str, *, bio: str | None = None) -> JoinResult:
        """The person opens an invite link. A plain (or subscription, paid by them) link makes them a member:
        a chat_member update and a service message in the group. A join-request link sends the bot a
        chat_join_request (once while one is pending). Anything else turns them away; the result says why."""
        user_id = user if isinstance(user, int) else user.id
        sender = self.users[user_id]
        link = self.links.get(url)
        chat = self.chats[link.chat_id] if link else None
        result = JoinResult.UNKNOWN
        if link is not None and chat is not None:
            result = self._refusal(link, chat, user_id) or self._let_in(link, chat, user_id, bio)
        where = f" to {chat.label}" if chat else ""
        shown = f" «{link.name}»" if link and link.name else ""
        self._emit(f"{sender['first_name']} ⟶ opens invite link{shown}{where}: {result}")
        return result

    # ----- internals -----------------------------------------------------------------------------

    def _terms(self, p: dict[str, Any], chat: FakeChat) -> tuple[str, int, int, bool]:
        """A regular link's name, expiry, member limit and approval, checked in the order Telegram checks."""
        expire_date = _int(p.get("expire_date"), 0, 2**31 - 1)
        member_limit = _int(p.get("member_limit"), 0, 100000)
        creates_join_request = bool(p.get("creates_join_request"))
        if creates_join_request and member_limit:
            raise bad(ERRORS["limit_and_request"])
        self._link_rights(chat)
        if expire_date and expire_date <= self.now():
            raise bad(ERRORS["expire_date"])
        if member_limit > 99999:
            raise bad(ERRORS["member_limit"])
        return _name(p.get("name")), expire_date, member_limit, creates_join_request

    def _link_rights(self, chat: FakeChat) -> None:
        if chat.user:
            raise bad(ERRORS["links_private"])
        if not self._bot_can(chat, "can_invite_users"):
            raise bad(ERRORS["links_rights"])

    def _new_link(self, chat: FakeChat) -> InviteLink:
        link = InviteLink(f"https://t.me/+standin{next(self._ids):06d}", chat.id, self.bot_user)
        self.links[link.url] = link
        return link

    def _links_of(self, chat: FakeChat) -> list[InviteLink]:
        return [link for link in self.links.values() if link.chat_id == chat.id]

    def _bot_link(self, chat: FakeChat, p: dict[str, Any]) -> InviteLink:
        link = self.links.get(str(p.get("invite_link", "")))
        if link is None or link.chat_id != chat.id or link.is_revoked:
            raise bad(ERRORS["link"])
        return link

    def _refusal(self, link: InviteLink, chat: FakeChat, user_id: int) -> JoinResult | None:
        if link.is_revoked:
            return JoinResult.REVOKED
        if link.expire_date and link.expire_date <= self.now():
            return JoinResult.EXPIRED
        status = self._status(chat, user_id)
        if status in IN_CHAT:
            return JoinResult.ALREADY_MEMBER
        if status == "kicked":  # until unbanned, no link lets them back
            return JoinResult.BANNED
        inside = sum(self._status(chat, joined) in IN_CHAT for joined in link.joined)
        if link.member_limit and inside >= link.member_limit:
            return JoinResult.FULL
        return None

    def _let_in(self, link: InviteLink, chat: FakeChat, user_id: int, bio: str | None) -> JoinResult:
        if not link.creates_join_request:
            self._join(chat, user_id, link, by=self.users[user_id])
            return JoinResult.JOINED
        if (chat.id, user_id) not in self.join_requests:
            request = JoinRequest(chat.id, user_id, link.url, int(self.now()), bio)
            self.join_requests[(chat.id, user_id)] = request
            asked: dict[str, Any] = {"chat": chat.as_dict(), "from": self.users[user_id], "user_chat_id": user_id}
            asked |= {"date": request.date} | ({"bio": bio} if bio else {})
            asked["invite_link"] = link.as_dict(self._pending_count(link))
            self.push_update({"chat_join_request": asked})
        return JoinResult.REQUESTED

"""Who is in a chat and what the bot may do there: getChatMember, administrators, banChatMember and
unbanChatMember, the bot's own rights, and the chat_member / my_chat_member updates their changes send."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.standin.records import ADMIN_RIGHTS, ApiCall, FakeChat, InviteLink, bad
from bot.standin.state import StandInState

# Every refusal of the membership, invite link and join request methods, worded as Telegram words them. The
# lower-case ones are tdlib's own checks (td/telegram/DialogInviteLinkManager.cpp, DialogParticipantManager.cpp,
# telegram-bot-api/Client.cpp), the upper-case ones Telegram's server errors (core.telegram.org/method/...).
ERRORS = {
    "links_private": "can't invite members to a private chat",
    "links_rights": "not enough rights to manage chat invite link",
    "limit_and_request": "member limit can't be specified for links requiring administrator approval",
    "expire_date": "EXPIRE_DATE_INVALID",  # in the past
    "member_limit": "USAGE_LIMIT_INVALID",  # above 99999 (the Bot API clamps to 0-100000; 0 is no limit)
    "link": "INVITE_HASH_EXPIRED",  # not a link of this chat made by the bot, or revoked
    "pricing": "invalid subscription pricing specified",  # price or period 0
    "period": "SUBSCRIPTION_PERIOD_INVALID",  # anything but 2592000
    "price": "PRICING_CHAT_INVALID",  # above 10000 Stars (stars_subscription_amount_max)
    # not verified: the closest documented error for a subscription link outside a channel
    "not_channel": "PRICING_CHAT_INVALID",
    "requests_private": "the chat can't have join requests",
    "requests_rights": "not enough rights to manage chat join requests",
    "no_request": "HIDE_REQUESTER_MISSING",  # no pending request from that user (never, or already processed)
    "participant": "USER_ALREADY_PARTICIPANT",
    "ban_private": "can't ban members in private chats",
    "unban_chat_type": "method is available for supergroup and channel chats only",
    "restrict_rights": "not enough rights to restrict/unrestrict chat member",
    "owner": "can't remove chat owner",
    "admin": "user is an administrator of the chat",
    "self": "can't restrict self",
}
IN_CHAT = frozenset({"creator", "administrator", "member"})
BOT_STATUSES = frozenset({"creator", "administrator", "member", "left", "kicked"})
# who Telegram names as the actor when an anonymous administrator changes something
ANONYMOUS_ADMIN = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
BAN_FOREVER_AFTER = 366 * 86400  # a ban longer than this, or shorter than 30 s, is forever


class MembershipMethods(StandInState):
    """Statuses of people and of the bot in the simulated groups, and the methods that read or change them."""

    # ----- the Bot API methods -------------------------------------------------------------------

    def _get_member(self, p: dict[str, Any], c: ApiCall) -> dict[str, Any]:
        return self._member(self._chat(p), p.get("user_id", 0))

    def _administrators(self, p: dict[str, Any], c: ApiCall) -> list[dict[str, Any]]:
        chat = self._chat(p)
        if chat.user:
            raise bad("there are no administrators in the private chat")
        admins = [uid for uid, status in chat.members.items() if status in ("creator", "administrator")]
        bot = [self.bot_user["id"]] if chat.bot_status in ("creator", "administrator") else []
        return [self._member(chat, uid) for uid in [*admins, *bot]]

    def _ban(self, p: dict[str, Any], c: ApiCall) -> bool:
        chat = self._chat(p)
        if chat.user:
            raise bad(ERRORS["ban_private"])
        user_id = p.get("user_id", 0)
        until = self._ban_until(p.get("until_date"), chat)
        status = self._removable(chat, user_id)
        if status == "kicked" and chat.banned_until.get(user_id) == until:
            return True  # nothing changes: Telegram answers true without looking at the bot's rights
        self._require_restrict(chat, user_id)
        before = self._member(chat, user_id)
        chat.members[user_id], chat.banned_until[user_id] = "kicked", until
        self.join_requests.pop((chat.id, user_id), None)
        if chat.type != "group" or p.get("revoke_messages"):  # always revoked outside basic groups
            for msg in self._messages.get(chat.id, []):
                msg.deleted = msg.deleted or msg.sender_id == user_id
        self._emit(f"bot ⛔ {chat.label}: bans {self._name(user_id)}")
        self._removed(chat, before)
        return True

    def _unban(self, p: dict[str, Any], c: ApiCall) -> bool:
        chat = self._chat(p)
        if chat.type not in ("supergroup", "channel"):
            raise bad(ERRORS["unban_chat_type"])
        user_id = p.get("user_id", 0)
        status = self._status(chat, user_id)
        if status == "left" or (p.get("only_if_banned") and status != "kicked"):
            return True  # nothing to do, so no rights needed
        self._removable(chat, user_id)
        self._require_restrict(chat, user_id)
        before = self._member(chat, user_id)
        chat.members.pop(user_id, None)
        chat.banned_until.pop(user_id, None)
        self._emit(f"bot ↺ {chat.label}: {'unbans' if status == 'kicked' else 'removes'} {self._name(user_id)}")
        self._removed(chat, before)
        return True

    # ----- the test world: the bot's own place in a chat -----------------------------------------

    def set_bot_status(
        self, chat_id: int, status: str, rights: Iterable[str] | None = None, *, by: int | None = None
    ) -> dict[str, Any] | None:
        """An administrator (`by`; default the chat's owner or first administrator) makes the bot an administrator
        with `rights` (None: all), a plain member, or removes it ("left", or "kicked": banned). The bot gets a
        my_chat_member update, which is returned (None when nothing changed)."""
        chat = self.chats[chat_id]
        granted = self._granted(status, rights)
        if (chat.bot_status, chat.bot_rights) == (status, granted):
            return None
        before = self._member(chat, self.bot_user["id"])
        chat.bot_status, chat.bot_rights = status, granted
        after = self._member(chat, self.bot_user["id"])
        actor = self.users.get(by) if by else self._owner(chat)
        shown = ", ".join(sorted(r.removeprefix("can_") for r in granted)) if status == "administrator" else ""
        self._emit(f"{chat.label}: the bot is now {status}{f' ({shown})' if shown else ''}")
        update = {"my_chat_member": self._member_update(chat, before, after, actor or ANONYMOUS_ADMIN)}
        self.push_update(update)
        return update

    def block(self, user_id: int) -> dict[str, Any] | None:
        """The user blocks the bot: sends to them fail with 403, and (as Telegram does) the bot gets a
        my_chat_member update, its status member → kicked. Returns that update (None if nothing changed)."""
        if user_id in self.blocked:
            return None
        self.blocked.add(user_id)
        return self._bot_status_changed(user_id, "member", "kicked")

    def unblock(self, user_id: int) -> dict[str, Any] | None:
        """The user unblocks (restarts) the bot: my_chat_member kicked → member."""
        if user_id not in self.blocked:
            return None
        self.blocked.discard(user_id)
        return self._bot_status_changed(user_id, "kicked", "member")

    # ----- internals -----------------------------------------------------------------------------

    @staticmethod
    def _granted(status: str, rights: Iterable[str] | None) -> frozenset[str]:
        if status not in BOT_STATUSES:
            raise ValueError(f"unknown status {status!r}; one of {sorted(BOT_STATUSES)}")
        granted = frozenset(ADMIN_RIGHTS if rights is None or status != "administrator" else rights)
        if unknown := granted - ADMIN_RIGHTS:
            raise ValueError(f"unknown administrator rights {sorted(unknown)}")
        return granted

    def _status(self, chat: FakeChat, user_id: int) -> str:
        if user_id == self.bot_user["id"]:
            return "member" if chat.user else chat.bot_status
        if chat.user:
            return "member" if user_id == chat.id else "left"
        status = chat.members.get(user_id, "left")
        until = chat.banned_until.get(user_id, 0)
        if status == "kicked" and 0 < until <= self.now():  # a ban for a while lifts by itself
            del chat.members[user_id], chat.banned_until[user_id]
            return "left"
        return status

    def _member(self, chat: FakeChat, user_id: int) -> dict[str, Any]:
        """The ChatMember object, in the shape its status has (aiogram picks the class by status)."""
        status = self._status(chat, user_id)
        unknown: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
        user = self.bot_user if user_id == self.bot_user["id"] else self.users.get(user_id, unknown)
        member: dict[str, Any] = {"status": status, "user": user}
        if status == "administrator":
            rights = chat.bot_rights if user_id == self.bot_user["id"] else ADMIN_RIGHTS
            flags = {r: r in rights for r in ADMIN_RIGHTS} | {"can_manage_chat": bool(rights)}
            member |= flags | {"can_be_edited": False, "is_anonymous": False}
        elif status == "creator":
            member["is_anonymous"] = False
        elif status == "kicked":
            member["until_date"] = chat.banned_until.get(user_id, 0)
        return member

    def _bot_can(self, chat: FakeChat, right: str) -> bool:
        return chat.bot_status == "creator" or (chat.bot_status == "administrator" and right in chat.bot_rights)

    def _removable(self, chat: FakeChat, user_id: int) -> str:
        status = self._status(chat, user_id)
        if user_id == self.bot_user["id"]:
            raise bad(ERRORS["self"])
        if status == "creator":
            raise bad(ERRORS["owner"])
        return status

    def _require_restrict(self, chat: FakeChat, user_id: int) -> None:
        if not self._bot_can(chat, "can_restrict_members"):
            raise bad(ERRORS["restrict_rights"])
        if self._status(chat, user_id) == "administrator":
            raise bad(ERRORS["admin"])

    def _ban_until(self, value: Any, chat: FakeChat) -> int:
        until = value if isinstance(value, int) else 0
        if chat.type == "group" or not 30 <= until - self.now() <= BAN_FOREVER_AFTER:
            return 0
        return until

    def _join(self, chat: FakeChat, user_id: int, link: InviteLink | None, *, by: dict[str, Any]) -> None:
        """The person becomes a member: a chat_member update (for a bot that asked for them), and in a group
        the "new members" service message every bot there receives."""
        before = self._member(chat, user_id)
        chat.members[user_id] = "member"
        if link is not None:
            link.joined.add(user_id)
        changed = self._member_update(chat, before, self._member(chat, user_id), by)
        changed |= {"invite_link": link.as_dict(self._pending_count(link))} if link else {}
        self.push_update({"chat_member": changed})
        if chat.type != "channel":
            user = self.users[user_id]
            self.push_update({"message": self._store(chat, user, {"new_chat_members": [user]}).raw})

    def _removed(self, chat: FakeChat, before: dict[str, Any]) -> None:
        user_id = before["user"]["id"]
        after = self._member(chat, user_id)
        if after == before:
            return
        self.push_update({"chat_member": self._member_update(chat, before, after, self.bot_user)})
        if before["status"] in IN_CHAT and chat.type != "channel":
            removed = {"left_chat_member": before["user"]}
            self.push_update({"message": self._store(chat, self.bot_user, removed).raw})

    def _member_update(
        self, chat: FakeChat, before: dict[str, Any], after: dict[str, Any], by: dict[str, Any]
    ) -> dict[str, Any]:
        changed = {"chat": chat.as_dict(), "from": by, "date": int(self.now())}
        return changed | {"old_chat_member": before, "new_chat_member": after}

    def _pending_count(self, link: InviteLink) -> int:
        return sum(r.link == link.url for r in self.join_requests.values())

    def _owner(self, chat: FakeChat) -> dict[str, Any] | None:
        for wanted in ("creator", "administrator"):
            for user_id, status in chat.members.items():
                if status == wanted and user_id in self.users:
                    return self.users[user_id]
        return None

    def _name(self, user_id: int) -> str:
        return str(self.users.get(user_id, {}).get("first_name", user_id))

    def _bot_status_changed(self, user_id: int, old: str, new: str) -> dict[str, Any] | None:
        user = self.users.get(user_id)
        if user is None:  # a chat the stand-in never met: nobody to tell the bot about
            return None

        def member(status: str) -> dict[str, Any]:
            return {"user": self.bot_user, "status": status} | ({"until_date": 0} if status == "kicked" else {})

        changed = self._member_update(self.chats[user_id], member(old), member(new), user)
        self._emit(f"{user['first_name']} ⟶ {'blocks' if new == 'kicked' else 'unblocks'} the bot")
        update = {"my_chat_member": changed}
        self.push_update(update)
        return update

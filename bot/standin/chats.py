"""Bot API methods on chats: getChat, members and admins, forum topics, invite links, files, commands."""

from __future__ import annotations

import json
from typing import Any

from bot.standin.records import ADMIN_RIGHTS, ApiCall, FakeChat, bad, words
from bot.standin.state import StandInState


class ChatMethods(StandInState):
    """The chat methods, answered from the simulated chats, members, topics and files."""

    def _get_chat(self, p: dict[str, Any], c: ApiCall) -> dict[str, Any]:
        gifts = words("unlimited_gifts limited_gifts unique_gifts premium_subscription gifts_from_channels")
        info = {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys(gifts, False),
        }
        return self._chat(p).as_dict() | info

    def _member(self, chat: FakeChat, user_id: int) -> dict[str, Any]:
        if user_id == self.bot_user["id"]:
            status, user = ("member" if chat.user else "administrator"), self.bot_user
        else:
            members = {chat.id: "member"} if chat.user else chat.members
            status = members.get(user_id, "left")
            unknown: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
            user = self.users.get(user_id, unknown)
        extras: dict[str, dict[str, Any]] = {
            "administrator": dict.fromkeys(ADMIN_RIGHTS, True) | {"can_be_edited": False, "is_anonymous": False},
            "creator": {"is_anonymous": False},
            "kicked": {"until_date": 0},
        }
        return {"status": status, "user": user} | extras.get(status, {})

    def _administrators(self, p: dict[str, Any], c: ApiCall) -> list[dict[str, Any]]:
        chat = self._chat(p)
        if chat.user:
            raise bad("there are no administrators in the private chat")
        admins = [uid for uid, status in chat.members.items() if status in ("creator", "administrator")]
        return [self._member(chat, uid) for uid in [*admins, self.bot_user["id"]]]

    def _create_topic(self, p: dict[str, Any], c: ApiCall) -> dict[str, Any]:
        chat = self._chat(p)
        if not chat.is_forum:
            raise bad("the chat is not a forum")
        if not 1 <= len(p.get("name", "")) <= 128:
            raise bad("TOPIC_NAME_INVALID")
        # Telegram uses the id of the "topic created" service message as the thread id.
        topic = {"message_thread_id": self._new_message_id(chat.id), "name": p["name"]}
        topic |= {"icon_color": p.get("icon_color", 7322096)}
        topic |= {"icon_custom_emoji_id": p["icon_custom_emoji_id"]} if p.get("icon_custom_emoji_id") else {}
        chat.topics[topic["message_thread_id"]] = dict(topic)
        self._emit(f"bot ＋ topic {self._where(chat, topic['message_thread_id'])}")
        return topic

    def _change_topic(self, p: dict[str, Any], action: str) -> bool:
        chat = self._chat(p)
        if not chat.is_forum:
            raise bad("the chat is not a forum")
        topic = chat.topics.get(p.get("message_thread_id", 0))
        if topic is None:
            raise bad("TOPIC_ID_INVALID")
        if action == "delete":
            del chat.topics[topic["message_thread_id"]]
            for msg in self.messages_in(chat.id, thread_id=topic["message_thread_id"]):
                msg.deleted = True
            return True
        if action == "edit":
            topic.update({k: p[k] for k in ("name", "icon_custom_emoji_id") if k in p})
        topic["closed"] = action == "close" or (action == "edit" and topic.get("closed", False))
        return True

    def _invite_link(self, p: dict[str, Any], c: ApiCall) -> dict[str, Any]:
        self._chat(p)
        if p.get("member_limit") and p.get("creates_join_request"):
            raise bad("member_limit can't be specified for links requiring administrator approval")
        link: dict[str, Any] = {"invite_link": f"https://t.me/+standin{next(self._ids):06d}", "creator": self.bot_user}
        link |= {"creates_join_request": bool(p.get("creates_join_request")), "is_primary": False}
        link |= {"is_revoked": False} | {k: p[k] for k in ("name", "expire_date", "member_limit") if k in p}
        self.invite_links.append(link | {"chat_id": p["chat_id"]})
        return link

    def _get_file(self, p: dict[str, Any], c: ApiCall) -> dict[str, Any]:
        stored = self.files.get(p.get("file_id", ""))
        if stored is None:
            raise bad("invalid file_id")
        ids = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        return ids | {"file_size": len(stored.data), "file_path": stored.file_path}

    def _set_commands(self, p: dict[str, Any], c: ApiCall) -> bool:
        if "commands" in p:
            self.commands[self._commands_key(p)] = p["commands"]
        else:
            self.commands.pop(self._commands_key(p), None)
        return True

    @staticmethod
    def _commands_key(p: dict[str, Any]) -> tuple[str, str]:
        return json.dumps(p.get("scope") or {"type": "default"}, sort_keys=True), p.get("language_code") or ""

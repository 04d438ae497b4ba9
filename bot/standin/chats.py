"""Bot API methods on chats: getChat, forum topics, files, commands."""

from __future__ import annotations

import json
from typing import Any

from bot.standin.records import ApiCall, bad, words
from bot.standin.state import StandInState


class ChatMethods(StandInState):
    """The chat methods, answered from the simulated chats, topics and files."""

    def _get_chat(self, p: dict[str, Any], c: ApiCall) -> dict[str, Any]:
        gifts = words("unlimited_gifts limited_gifts unique_gifts premium_subscription gifts_from_channels")
        info = {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys(gifts, False),
        }
        return self._chat(p).as_dict() | info

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

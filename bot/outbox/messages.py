"""A message to send, as plain data: sent at once as a reply, or stored in the outbox and sent later."""

from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup, Message, MessageId

METHODS = frozenset(
    {
        "send_message",
        "send_photo",
        "send_video",
        "send_document",
        "send_animation",
        "send_voice",
        "copy_message",
        "send_media_group",
        "edit_message_text",
        "pin_chat_message",
    }
)
# act on a sent message in place: they have no thread to go into
EDITS = frozenset({"edit_message_text", "pin_chat_message"})


@dataclass(frozen=True)
class Out:
    method: str
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"cannot send with {self.method!r}")

    @classmethod
    def text(cls, text: str, markup: InlineKeyboardMarkup | None = None, **params: Any) -> "Out":
        if markup is not None:
            params["reply_markup"] = markup.model_dump(mode="json", exclude_none=True)
        return cls("send_message", {"text": text, **params})

    @classmethod
    def edit(cls, message_id: int, text: str, markup: InlineKeyboardMarkup | None = None) -> "Out":
        """Replaces a sent message's text; without markup its inline keyboard goes away."""
        params: dict[str, Any] = {"message_id": message_id, "text": text}
        if markup is not None:
            params["reply_markup"] = markup.model_dump(mode="json", exclude_none=True)
        return cls("edit_message_text", params)

    @classmethod
    def pin(cls, message_id: int) -> "Out":
        """Pins a sent message without notifying the chat's members."""
        return cls("pin_chat_message", {"message_id": message_id, "disable_notification": True})

    @classmethod
    def copy(cls, from_chat_id: int, message_id: int, **params: Any) -> "Out":
        return cls("copy_message", {"from_chat_id": from_chat_id, "message_id": message_id, **params})

    @classmethod
    def media(cls, method: str, url: str, caption: str | None = None) -> "Out":
        kind = method.removeprefix("send_")
        return cls(method, {kind: url, "caption": caption})

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, **self.params}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Out":
        params = dict(data)
        return cls(params.pop("method"), params)

    async def deliver(self, bot: Bot, chat_id: int, *, thread_id: int | None = None) -> Message | MessageId:
        params = {k: v for k, v in self.params.items() if v is not None}
        if "reply_markup" in params:
            params["reply_markup"] = InlineKeyboardMarkup.model_validate(params["reply_markup"])
        if thread_id is not None and self.method not in EDITS:
            params["message_thread_id"] = thread_id
        result: Message | MessageId | bool = await getattr(bot, self.method)(chat_id=chat_id, **params)
        if isinstance(result, bool):  # an edit of an inline message answers True
            return MessageId(message_id=int(params.get("message_id", 0)))
        if isinstance(result, list):  # an album answers with all its messages: the first stands for them
            return result[0]
        return result


def message_id_of(result: Message | MessageId) -> int:
    return result.message_id

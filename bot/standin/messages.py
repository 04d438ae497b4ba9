"""Bot API methods on messages: send, copy, forward, edit, delete, answer callbacks, pin."""

from __future__ import annotations

import time
from typing import Any

from bot.standin.records import (
    MEDIA_KINDS,
    NOT_MODIFIED,
    ApiCall,
    CallbackAnswer,
    FakeChat,
    MessageEdit,
    StoredMessage,
    bad,
    norm_markup,
)
from bot.standin.state import StandInState


class MessageMethods(StandInState):
    """The message methods: each checks what Telegram checks, then stores or changes a StoredMessage."""

    def _send_message(self, p: dict[str, Any], c: ApiCall) -> dict[str, Any]:
        chat = self._target(p, sending=True)
        if not p.get("text"):
            raise bad("message text is empty")
        return self._bot_message(chat, p, str(p["text"])).raw

    def _send_media(self, p: dict[str, Any], c: ApiCall) -> dict[str, Any]:
        chat = self._target(p, sending=True)
        kind = next(k for k in MEDIA_KINDS if k in p or k in c.files)
        value = p.get(kind, f"attach://{kind}")  # other clients may upload under the field name itself
        return self._bot_message(chat, p, p.get("caption"), file=self._file_from(value, kind, c)).raw

    def _send_media_group(self, p: dict[str, Any], c: ApiCall) -> list[dict[str, Any]]:
        chat = self._target(p, sending=True)
        media = p.get("media") or []
        if not 2 <= len(media) <= 10:
            raise bad("wrong number of media items: must be 2-10")
        files = [self._file_from(item["media"], item["type"], c) for item in media]
        group_id, result = str(next(self._ids)), []
        for i, (item, stored) in enumerate(zip(media, files, strict=True)):
            params = p | item | {"reply_markup": None} | ({"reply_to_message_id": None} if i else {})
            msg = self._bot_message(chat, params, item.get("caption"), file=stored)
            msg.raw["media_group_id"] = group_id
            result.append(msg.raw)
        return result

    def _copy_message(self, p: dict[str, Any], c: ApiCall, forward: bool = False) -> dict[str, Any]:
        source = self.message(self._chat(p, "from_chat_id").id, p.get("message_id", 0))
        chat = self._target(p, sending=True)
        if source is None or source.deleted:
            raise bad(f"message to {'forward' if forward else 'copy'} not found")
        # A copy may replace the caption and keyboard; a forward keeps the content as it is.
        params = p | {"reply_markup": None, "caption": None} if forward else dict(p)
        if not (source.file and params.get("caption") is not None):  # the content is copied as it is
            params |= {"parse_mode": None, "entities": source.entities, "caption_entities": source.entities}
        text = params.get("caption") or source.text if source.file else source.text
        msg = self._bot_message(chat, params, text, file=source.file)
        if not forward:
            return {"message_id": msg.message_id}
        origin = {"type": "user", "sender_user": self.users.get(source.sender_id, self.bot_user)}
        msg.raw["forward_origin"] = origin | {"date": source.raw["date"]}
        return msg.raw

    def _edit_text(self, p: dict[str, Any], c: ApiCall) -> dict[str, Any]:
        chat, msg = self._find(p, "message to edit not found")
        key, entities_key = ("text", "entities") if "text" in p else ("caption", "caption_entities")
        if (key == "text") == bool(msg.file):
            raise bad(f"there is no {key} in the message to edit")
        if key == "text" and not p.get("text"):
            raise bad("message text is empty")
        plain, entities = self._content_text(p, str(p.get(key) or ""), caption=key == "caption")
        markup = self._check_markup(p.get("reply_markup"))
        if (plain, entities, norm_markup(markup)) == (msg.text or "", msg.entities, norm_markup(msg.reply_markup)):
            raise bad(NOT_MODIFIED)
        msg.raw = {k: v for k, v in (msg.raw | {key: plain, entities_key: entities}).items() if v not in ("", [])}
        msg.sent_text, msg.parse_mode = p.get(key), p.get("parse_mode")
        return self._edited(chat, msg, markup)

    def _edit_markup(self, p: dict[str, Any], c: ApiCall) -> dict[str, Any]:
        chat, msg = self._find(p, "message to edit not found")
        markup = self._check_markup(p.get("reply_markup"))
        if norm_markup(markup) == norm_markup(msg.reply_markup):
            raise bad(NOT_MODIFIED)
        return self._edited(chat, msg, markup)

    def _edited(self, chat: FakeChat, msg: StoredMessage, markup: dict[str, Any] | None) -> dict[str, Any]:
        # Like Telegram: an edit without reply_markup removes the inline keyboard.
        msg.reply_markup = markup
        msg.raw.pop("reply_markup", None)
        msg.raw |= {"reply_markup": markup} if norm_markup(markup) else {}
        msg.raw["edit_date"] = int(self.now())
        msg.edits.append(MessageEdit(msg.text, markup, time.monotonic()))
        self._emit(f"bot ✎ {self._where(chat, msg.message_thread_id)}: {self._describe(msg)}")
        return msg.raw

    def _delete_message(self, p: dict[str, Any], c: ApiCall) -> bool:
        chat, msg = self._find(p, "message to delete not found")
        msg.deleted = True
        self._emit(f"bot ⌫ {self._where(chat, msg.message_thread_id)}: {self._describe(msg)}")
        return True

    def _answer_callback(self, p: dict[str, Any], c: ApiCall) -> bool:
        callback_id = p.get("callback_query_id", "")
        if callback_id not in self._callbacks or callback_id in self.callback_answers:
            raise bad("query is too old and response timeout expired or query ID is invalid")
        answer = CallbackAnswer(p.get("text"), bool(p.get("show_alert")), p.get("url"))
        self.callback_answers[callback_id] = answer
        if answer.text:
            self._emit(f"bot {'⚠' if answer.show_alert else 'ⓘ'} {answer.text}")
        return True

    def _pin(self, p: dict[str, Any], pin: bool) -> bool:
        chat = self._target(p)
        if pin:
            chat.pinned.append(self._find(p, "message to pin not found")[1].message_id)
        elif chat.pinned:
            chat.pinned.remove(p.get("message_id") or chat.pinned[-1])
        return True

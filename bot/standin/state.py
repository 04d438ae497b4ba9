"""The stand-in's state, and the internals every group of Bot API methods shares: finding chats and
messages, storing them, telling listeners."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.standin.html import utf16_length
from bot.standin.records import (
    ApiCall,
    ApiError,
    CallbackAnswer,
    FakeChat,
    Fault,
    InviteLink,
    JoinRequest,
    StarCharge,
    StarInvoice,
    StoredFile,
    StoredMessage,
    bad,
    formatted,
    indent,
)


class StandInState:
    """The state every group of methods shares, its types declared once so each mixin is checked strictly."""

    def __init__(
        self,
        bot_id: int = 7000001,
        bot_username: str = "journeybot_demo_bot",
        bot_first_name: str = "journeybot",
        *,
        auto_settle: bool = True,
        settle_timeout: float = 5.0,
        pre_checkout_timeout: float = 10.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.auto_settle, self.settle_timeout = auto_settle, settle_timeout
        # Telegram's clock (Unix seconds): dates, link expiry, bans, the join-request window; tests may move it
        self.now = now
        self.base_url = ""
        self.calls: list[ApiCall] = []
        self.chats: dict[int, FakeChat] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.files: dict[str, StoredFile] = {}
        self.callback_answers: dict[str, CallbackAnswer] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.links: dict[str, InviteLink] = {}  # by URL
        self.join_requests: dict[tuple[int, int], JoinRequest] = {}  # pending ones, by (chat, user)
        self.never_started: set[int] = set()  # people the bot may not write to first (see _target)
        self.blocked: set[int] = set()
        self.deactivated: set[int] = set()
        self.allowed_updates: frozenset[str] | None = None  # None: Telegram's default (see NOT_BY_DEFAULT)
        self.webhook: dict[str, Any] = {}
        self.seq = 0
        # payments: Telegram gives the bot 10 s to answer a pre_checkout_query; tests may shorten it
        self.pre_checkout_timeout = pre_checkout_timeout
        self.charges: dict[str, StarCharge] = {}
        self._invoices: dict[tuple[int, int] | str, StarInvoice] = {}  # by (chat, message) or by link
        self._checkouts: dict[str, bool | None] = {}  # query id → the bot's answer (None: not yet)
        # set when the bot answers: a payer waits on its own query, not on every change (thousands pay at once)
        self._checkout_answered: dict[str, asyncio.Event] = {}
        self._messages: dict[int, list[StoredMessage]] = {}
        self._next_message_id: dict[int, int] = {}
        self._pending: deque[dict[str, Any]] = deque()
        self._last_update_id = 0
        # `calls` records a getUpdates when it returns, which a long poll with nothing to deliver does only after
        # its timeout; this counts them as they arrive, so "the bot is polling" is known at once
        self.polls_started = 0
        self._update_ids = itertools.count(1)
        self._ids = itertools.count(1)  # file, callback, media group and link ids
        self._callbacks: set[str] = set()
        self._faults: list[Fault] = []
        self._held: list[tuple[str, int | None, asyncio.Event]] = []
        self._limits: tuple[float | None, float | None] = (None, None)
        self._sent: deque[tuple[float, int]] = deque()
        self._transcript: list[str] = []
        self._listeners: list[Callable[[str], Any]] = []
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._webhook_task: asyncio.Task[None] | None = None

    # ----- messages, files and updates, as the method groups and the world both use them ---------

    def add_file(self, data: bytes, kind: str = "document", file_name: str | None = None) -> StoredFile:
        n = next(self._ids)
        stored = StoredFile(f"{kind}-{n:06d}", f"u{n:06d}", kind, data, file_name)
        self.files[stored.file_id] = stored
        return stored

    def push_update(self, update: dict[str, Any]) -> int:
        update.setdefault("update_id", next(self._update_ids))
        self._last_update_id = max(self._last_update_id, update["update_id"])
        self._pending.append(update)
        self._notify()
        update_id: int = update["update_id"]
        return update_id

    def messages_in(self, chat_id: int, *, thread_id: int | None = None) -> list[StoredMessage]:
        return [m for m in self._messages.get(chat_id, []) if thread_id in (None, m.message_thread_id)]

    def message(self, chat_id: int, message_id: int) -> StoredMessage | None:
        return next((m for m in self._messages.get(chat_id, []) if m.message_id == message_id), None)

    # ----- internals: events ---------------------------------------------------------------------

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _until(self, predicate: Callable[[], Any], timeout: float) -> bool:  # noqa: ASYNC109
        """Waits until the predicate holds (True) or the timeout passes (False), re-checking on every change."""
        deadline = time.monotonic() + timeout
        while True:
            changed = self._changed  # taken before looking, so a change in between still wakes us
            if predicate():
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def _emit(self, line: str) -> None:
        self._transcript.append(line)
        for listener in self._listeners:
            listener(line)

    def _where(self, chat: FakeChat, thread: int | None) -> str:
        topic = chat.topics.get(thread or 0)
        return f"{chat.label} › {topic['name']}" if topic else chat.label

    def _describe(self, msg: StoredMessage) -> str:
        shown = f"[{msg.media_kind}] {msg.text or ''}" if msg.media_kind else msg.text or ""
        buttons = " ".join(f"[{b}]" for row in msg.buttons for b in row)
        return indent(f"{shown.strip()} {buttons}".strip())

    # ----- internals: chats and messages ---------------------------------------------------------

    def _chat(self, p: dict[str, Any], key: str = "chat_id") -> FakeChat:
        chat = self.chats.get(p.get(key))  # type: ignore[arg-type]
        if chat is None:
            raise bad("chat not found")
        # a bot outside a private group can do nothing there (strictly, Telegram lets it read a basic group)
        if chat.user is None and chat.bot_status in ("left", "kicked"):
            kind = "group" if chat.type == "group" else chat.type
            done = "was kicked from" if chat.bot_status == "kicked" else "is not a member of"
            raise ApiError(403, f"Forbidden: bot {done} the {kind} chat")
        return chat

    def _target(self, p: dict[str, Any], *, sending: bool = False) -> FakeChat:
        chat = self._chat(p)
        if chat.user and chat.id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat.user and chat.id in self.deactivated:
            raise ApiError(403, "Forbidden: user is deactivated")
        if sending and chat.user and chat.id in self.never_started and not self._may_write_first(chat.id):
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        thread = p.get("message_thread_id")
        if chat.is_forum and thread and thread not in chat.topics:
            raise bad("message thread not found")
        if chat.is_forum and thread and sending and chat.topics[thread].get("closed"):
            raise bad("TOPIC_CLOSED")
        if sending:
            self._check_rate(chat.id)
        return chat

    def _may_write_first(self, user_id: int) -> bool:
        """ChatJoinRequest.user_chat_id: the bot may write to the requester for 5 minutes, until the request is
        processed, even if they never started it."""
        now = self.now()
        return any(r.user_id == user_id and now < r.date + 300 for r in self.join_requests.values())

    def _check_rate(self, chat_id: int) -> None:
        now = time.monotonic()
        while self._sent and self._sent[0][0] <= now - 1.0:
            self._sent.popleft()
        per_chat, overall = self._limits
        windows = (
            (per_chat, [at for at, cid in self._sent if cid == chat_id]),
            (overall, [a for a, _ in self._sent]),
        )
        for limit, window in windows:
            if limit is not None and len(window) >= limit:
                retry = max(1, math.ceil(window[0] + 1.0 - now))
                raise ApiError(429, f"Too Many Requests: retry after {retry}", retry)

    def _store(
        self,
        chat: FakeChat,
        sender: dict[str, Any],
        content: dict[str, Any],
        *,
        thread: int | None = None,
        reply_to: int | None = None,
        reply_markup: dict[str, Any] | None = None,
    ) -> StoredMessage:
        raw: dict[str, Any] = {
            "message_id": self._new_message_id(chat.id),
            "date": int(self.now()),
            "chat": chat.as_dict(),
        }
        raw |= {
            "from": sender,
            "message_thread_id": thread,
            "is_topic_message": bool(thread and chat.is_forum),
        }
        if reply_to:
            replied = self.message(chat.id, reply_to)
            if replied is None or replied.deleted:
                raise bad("message to be replied not found")
            raw["reply_to_message"] = {k: v for k, v in replied.raw.items() if k != "reply_to_message"}
        if reply_markup and "inline_keyboard" in reply_markup:
            raw["reply_markup"] = reply_markup  # Message.reply_markup only ever shows inline keyboards
        raw = {k: v for k, v in (raw | content).items() if v not in (None, [], False)}
        self.seq += 1
        from_bot = sender["id"] == self.bot_user["id"]
        msg = StoredMessage(chat.id, raw["message_id"], self.seq, from_bot, sender["id"], raw, reply_markup)
        self._messages.setdefault(chat.id, []).append(msg)
        if from_bot:
            self._sent.append((time.monotonic(), chat.id))
        return msg

    def _bot_message(
        self, chat: FakeChat, p: dict[str, Any], text: str | None, *, file: StoredFile | None = None
    ) -> StoredMessage:
        content = self._media_content(file) if file else {}
        if text is not None:
            plain, entities = self._content_text(p, text, caption=file is not None)
            content |= {"caption": plain or None, "caption_entities": entities} if file else {}
            content |= {} if file else {"text": plain, "entities": entities}
        reply_to = p.get("reply_to_message_id") or (p.get("reply_parameters") or {}).get("message_id")
        markup = self._check_markup(p.get("reply_markup"))
        msg = self._store(
            chat,
            self.bot_user,
            content,
            thread=p.get("message_thread_id"),
            reply_to=reply_to,
            reply_markup=markup,
        )
        msg.sent_text, msg.parse_mode, msg.file = text, p.get("parse_mode"), file
        self._emit(f"bot → {self._where(chat, msg.message_thread_id)}: {self._describe(msg)}")
        return msg

    def _content_text(self, p: dict[str, Any], text: str, *, caption: bool) -> tuple[str, list[dict[str, Any]]]:
        """A message's text or caption and its entities, checked as Telegram checks them after parsing."""
        plain, entities = formatted(text, p.get("parse_mode"), p.get("caption_entities" if caption else "entities"))
        if utf16_length(plain) > (1024 if caption else 4096):  # Telegram counts UTF-16 code units after parsing
            raise bad(f"message {'caption ' if caption else ''}is too long")
        if not caption and not plain.strip(" \n"):
            raise bad("text must be non-empty")
        for entity in entities:  # a mention link shows the user Telegram knows by that id
            known = self.users.get((entity.get("user") or {}).get("id", 0))
            if entity.get("type") == "text_mention" and known:
                entity["user"] = known
        return plain, entities

    def _check_markup(self, markup: dict[str, Any] | None) -> dict[str, Any] | None:
        for button in itertools.chain.from_iterable((markup or {}).get("inline_keyboard", [])):
            if len(button.get("callback_data", "").encode()) > 64:
                raise bad("BUTTON_DATA_INVALID")
            if set(button) <= {"text"}:
                raise bad("text buttons are unallowed in the inline keyboard")
        return markup

    def _media_content(self, f: StoredFile) -> dict[str, Any]:
        info: dict[str, Any] = {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "file_size": len(f.data),
        }
        if f.kind == "photo":
            return {"photo": [info | {"width": 1280, "height": 720}]}
        if f.kind in ("video", "animation"):
            info |= {"width": 1280, "height": 720}
        if f.kind in ("video", "animation", "voice", "audio"):
            info["duration"] = 1
        if f.kind != "voice" and f.file_name:
            info["file_name"] = f.file_name
        return {f.kind: info | {"mime_type": f.mime_type}}

    def _file_from(self, value: Any, kind: str, c: ApiCall) -> StoredFile:
        value = str(value)
        if value.startswith("attach://"):
            key = value.removeprefix("attach://")
            if key not in c.files:
                raise bad(f"there is no {kind} in the request")
            return self.add_file(c.files[key], kind, c.filenames.get(key))
        if value in self.files:
            return self.files[value]
        if value.startswith(("http://", "https://")):
            return self.add_file(b"", kind, value.rsplit("/", 1)[-1] or None)
        raise bad("wrong file identifier/HTTP URL specified")

    def _find(self, p: dict[str, Any], missing: str) -> tuple[FakeChat, StoredMessage]:
        if "inline_message_id" in p:
            raise bad("inline messages are not supported by the stand-in")
        chat = self._target(p)
        msg = self.message(chat.id, p.get("message_id", 0))
        if msg is None or msg.deleted:
            raise bad(missing)
        return chat, msg

    def _new_message_id(self, chat_id: int) -> int:
        self._next_message_id[chat_id] = self._next_message_id.get(chat_id, 0) + 1
        return self._next_message_id[chat_id]

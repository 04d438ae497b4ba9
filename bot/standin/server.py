"""An in-process stand-in for the Telegram Bot API, spoken to by aiogram over real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import math
import mimetypes
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from bot.standin.client import FakeUser
from bot.standin.html import HtmlError, parse_html, utf16_length


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# aiogram sends every field as a string; these are the ones worth turning back into ints, bools or JSON.
INT_FIELDS = _words(
    "chat_id from_chat_id user_id message_id message_thread_id reply_to_message_id offset limit timeout "
    "cache_time max_connections expire_date member_limit icon_color duration width height"
)
BOOL_FIELDS = _words(
    "disable_notification protect_content show_alert drop_pending_updates has_spoiler creates_join_request "
    "allow_sending_without_reply supports_streaming disable_content_type_detection allow_paid_broadcast"
)
JSON_FIELDS = _words(
    "reply_markup entities caption_entities allowed_updates media commands scope reply_parameters "
    "link_preview_options message_ids"
)
MEDIA_KINDS = ("photo", "video", "document", "voice", "audio", "animation")
SEND_METHODS = _words("sendMessage copyMessage forwardMessage sendMediaGroup") | {
    f"send{kind.title()}" for kind in MEDIA_KINDS
}
ADMIN_RIGHTS = _words(
    "can_manage_chat can_delete_messages can_manage_video_chats can_restrict_members can_promote_members "
    "can_change_info can_invite_users can_post_stories can_edit_stories can_delete_stories "
    "can_send_welcome_messages can_pin_messages can_manage_topics"
)
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
TOKEN_RE = re.compile(r"^\d+:[\w-]+$")
# what Telegram sends when allowed_updates was never given (or given as []): everything but these
NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


class ApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    files: dict[str, bytes]
    at: float
    status: int = 0
    response: dict[str, Any] = field(default_factory=dict)
    filenames: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> int | str | None:
        return self.params.get("chat_id")

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v!r}"[:60] for k, v in self.params.items())
        return f"{self.method}({args}) -> {self.status} {self.response.get('description', '')}".rstrip()


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_name: str | None = None

    @property
    def file_path(self) -> str:
        return f"{self.kind}s/{self.file_unique_id}_{self.file_name or 'file'}"

    @property
    def mime_type(self) -> str:
        return mimetypes.guess_type(self.file_name or "")[0] or "application/octet-stream"


@dataclass
class MessageEdit:
    text: str | None
    reply_markup: dict[str, Any] | None
    at: float


@dataclass
class CallbackAnswer:
    text: str | None
    show_alert: bool
    url: str | None


@dataclass
class StoredMessage:
    chat_id: int
    message_id: int
    seq: int  # global creation order: FakeUser uses it to tell which messages are new
    from_bot: bool
    sender_id: int
    raw: dict[str, Any]  # the Bot API Message exactly as returned to the bot
    reply_markup: dict[str, Any] | None = None  # kept even for reply keyboards, which raw omits
    sent_text: str | None = None  # text or caption as the bot sent it, before parse_mode
    parse_mode: str | None = None
    file: StoredFile | None = None
    edits: list[MessageEdit] = field(default_factory=list)
    deleted: bool = False

    @property
    def text(self) -> str | None:
        return self.raw.get("text", self.raw.get("caption"))

    @property
    def entities(self) -> list[dict[str, Any]]:
        entities: list[dict[str, Any]] = self.raw.get("entities", self.raw.get("caption_entities", []))
        return entities

    @property
    def media_kind(self) -> str | None:
        return self.file.kind if self.file else None

    @property
    def message_thread_id(self) -> int | None:
        return self.raw.get("message_thread_id")

    def rows(self) -> list[list[dict[str, Any]]]:
        markup = self.reply_markup or {}
        return markup.get("inline_keyboard") or markup.get("keyboard") or []

    @property
    def buttons(self) -> list[list[str]]:
        return [[b["text"] for b in row] for row in self.rows()]

    def button(self, text: str) -> dict[str, Any] | None:
        return next((b for row in self.rows() for b in row if b["text"] == text), None)

    def __repr__(self) -> str:
        return f"<StoredMessage {self.chat_id}/{self.message_id} {self.text!r} {self.buttons}>"


@dataclass
class FakeChat:
    id: int
    type: str
    title: str | None = None
    user: dict[str, Any] | None = None
    is_forum: bool = False
    members: dict[int, str] = field(default_factory=dict)
    topics: dict[int, dict[str, Any]] = field(default_factory=dict)
    pinned: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        if self.user is not None:
            names = {k: v for k, v in self.user.items() if k in ("first_name", "last_name", "username")}
            return {"id": self.id, "type": "private"} | names
        return {"id": self.id, "type": self.type, "title": self.title} | ({"is_forum": True} if self.is_forum else {})

    @property
    def label(self) -> str:
        return self.user["first_name"] if self.user else self.title or str(self.id)


@dataclass
class Fault:
    method: str
    error: ApiError
    chat_id: int | None
    times: int


def formatted(text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None) -> tuple[str, list[Any]]:
    """The text and entities a message gets, as the Bot API makes them: parse_mode wins over explicit entities."""
    if len(text.encode("utf-8", "surrogatepass")) > 1 << 15:
        raise bad("text is too long")
    mode = (parse_mode or "").lower()
    if mode != "html" or not text:
        if mode not in ("", "none", "html", "markdown", "markdownv2"):
            raise bad("unsupported parse_mode")
        return text, entities or []  # Markdown is not parsed by the stand-in: the text stays as written
    try:
        parsed = parse_html(text)
    except HtmlError as e:
        raise bad(f"can't parse entities: {e.reason}") from None
    return parsed.text, parsed.entities


def _convert(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if key in JSON_FIELDS:
        with contextlib.suppress(ValueError):
            return json.loads(value)
    if key in INT_FIELDS and re.fullmatch(r"-?\d+", value):
        return int(value)
    if key in BOOL_FIELDS:
        return value.lower() in ("true", "1")
    return value


def _norm(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    return markup if markup and (markup.get("inline_keyboard") or markup.get("keyboard")) else None


def _indent(text: str) -> str:
    return text.replace("\n", "\n    ")


class BotAPIStandIn:
    def __init__(
        self,
        bot_id: int = 7000001,
        bot_username: str = "journeybot_demo_bot",
        bot_first_name: str = "journeybot",
        *,
        auto_settle: bool = True,
        settle_timeout: float = 5.0,
    ) -> None:
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.auto_settle, self.settle_timeout = auto_settle, settle_timeout
        self.base_url = ""
        self.calls: list[ApiCall] = []
        self.chats: dict[int, FakeChat] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.files: dict[str, StoredFile] = {}
        self.callback_answers: dict[str, CallbackAnswer] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.invite_links: list[dict[str, Any]] = []
        self.blocked: set[int] = set()
        self.deactivated: set[int] = set()
        self.allowed_updates: frozenset[str] | None = None  # None: Telegram's default (see NOT_BY_DEFAULT)
        self.webhook: dict[str, Any] = {}
        self.seq = 0
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
        # fmt: off
        methods: dict[str, Callable[[dict[str, Any], ApiCall], Any]] = {
            "getMe": lambda p, c: self.bot_user | {"can_join_groups": True}, "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook, "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._webhook_info, "logOut": lambda p, c: True, "close": lambda p, c: True,
            "setMyCommands": self._set_commands, "deleteMyCommands": self._set_commands,
            "getMyCommands": lambda p, c: self.commands.get(self._commands_key(p), []),
            "sendMessage": self._send_message, "sendMediaGroup": self._send_media_group,
            "copyMessage": self._copy_message, "forwardMessage": lambda p, c: self._copy_message(p, c, True),
            "editMessageText": self._edit_text, "editMessageCaption": self._edit_text,
            "editMessageReplyMarkup": self._edit_markup, "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback,
            "sendChatAction": lambda p, c: bool(self._target(p)),
            "pinChatMessage": lambda p, c: self._pin(p, True),
            "unpinChatMessage": lambda p, c: self._pin(p, False),
            "getChat": self._get_chat, "getChatAdministrators": self._administrators,
            "getChatMember": lambda p, c: self._member(self._chat(p), p.get("user_id", 0)),
            "createForumTopic": self._create_topic,
            "editForumTopic": lambda p, c: self._change_topic(p, "edit"),
            "closeForumTopic": lambda p, c: self._change_topic(p, "close"),
            "reopenForumTopic": lambda p, c: self._change_topic(p, "reopen"),
            "deleteForumTopic": lambda p, c: self._change_topic(p, "delete"),
            "createChatInviteLink": self._invite_link, "getFile": self._get_file,
        }
        # fmt: on
        methods |= {f"send{kind.title()}": self._send_media for kind in MEDIA_KINDS}
        self._methods = {name.lower(): (name, fn) for name, fn in methods.items()}

    # ----- lifecycle -----------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> BotAPIStandIn:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.base_url = f"http://{host}:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        self._closing = True
        self._notify()  # ends pending long polls so the runner shuts down at once
        if self._webhook_task:
            self._webhook_task.cancel()
            await asyncio.gather(self._webhook_task, return_exceptions=True)
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotAPIStandIn:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ----- the simulated world -------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "ru",
    ) -> FakeUser:
        info = {"id": user_id, "is_bot": False, "first_name": first_name, "last_name": last_name}
        info |= {"username": username, "language_code": language_code}
        self.users[user_id] = {k: v for k, v in info.items() if v is not None}
        self.chats[user_id] = FakeChat(user_id, "private", user=self.users[user_id])
        return FakeUser(self, self.users[user_id])

    def group(
        self,
        chat_id: int,
        title: str,
        *,
        is_forum: bool = False,
        members: Iterable[int] | Mapping[int, str] = (),
    ) -> FakeChat:
        statuses = dict(members) if isinstance(members, Mapping) else dict.fromkeys(members, "member")
        kind = "supergroup" if is_forum or str(chat_id).startswith("-100") else "group"
        self.chats[chat_id] = FakeChat(chat_id, kind, title=title, is_forum=is_forum, members=statuses)
        return self.chats[chat_id]

    def set_member(self, chat_id: int, user_id: int, status: str = "member") -> None:
        self.chats[chat_id].members[user_id] = status

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

    def deactivate(self, user_id: int) -> None:
        """The user deleted their account: sends fail with 403, and Telegram sends the bot no update about it."""
        self.deactivated.add(user_id)

    def _bot_status_changed(self, user_id: int, old: str, new: str) -> dict[str, Any] | None:
        user = self.users.get(user_id)
        if user is None:  # a chat the stand-in never met: nobody to tell the bot about
            return None

        def member(status: str) -> dict[str, Any]:
            return {"user": self.bot_user, "status": status} | ({"until_date": 0} if status == "kicked" else {})

        changed = {"chat": self.chats[user_id].as_dict(), "from": user, "date": int(time.time())}
        changed |= {"old_chat_member": member(old), "new_chat_member": member(new)}
        self._emit(f"{user['first_name']} ⟶ {'blocks' if new == 'kicked' else 'unblocks'} the bot")
        update = {"my_chat_member": changed}
        self.push_update(update)
        return update

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """method "*" matches every method."""
        if status == 429:
            retry_after = retry_after or 1
        default = {429: f"Too Many Requests: retry after {retry_after}", 400: "Bad Request: injected failure"}
        default[403] = "Forbidden: bot was blocked by the user"
        error = ApiError(status, description or default.get(status, "Internal Server Error"), retry_after)
        self._faults.append(Fault(method.lower(), error, chat_id, times))

    def hold_response(self, method: str, *, chat_id: int | None = None) -> asyncio.Event:
        """The next matching call takes effect (members see its message) but its response waits for the
        returned event: the bot learns what it sent later than the chat does, as over a slow network."""
        release = asyncio.Event()
        self._held.append((method.lower(), chat_id, release))
        return release

    def rate_limit(self, per_chat_per_second: float | None = None, global_per_second: float | None = None) -> None:
        """Sliding one-second windows over successful sends; no arguments turns the limits off."""
        self._limits = (per_chat_per_second, global_per_second)

    def add_file(self, data: bytes, kind: str = "document", file_name: str | None = None) -> StoredFile:
        n = next(self._ids)
        stored = StoredFile(f"{kind}-{n:06d}", f"u{n:06d}", kind, data, file_name)
        self.files[stored.file_id] = stored
        return stored

    # ----- injecting what people do --------------------------------------------------------------

    def push_update(self, update: dict[str, Any]) -> int:
        update.setdefault("update_id", next(self._update_ids))
        self._last_update_id = max(self._last_update_id, update["update_id"])
        self._pending.append(update)
        self._notify()
        update_id: int = update["update_id"]
        return update_id

    def push_message(
        self,
        from_user: FakeUser | int,
        chat_id: int,
        text: str | None = None,
        *,
        caption: str | None = None,
        photo: bytes | None = None,
        document: bytes | tuple[str, bytes] | None = None,
        voice: bytes | None = None,
        video: bytes | None = None,
        message_thread_id: int | None = None,
        reply_to_message_id: int | None = None,
        entities: list[dict[str, Any]] | None = None,
        forward_origin: dict[str, Any] | None = None,
        media_group_id: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """`extra`: any other Message fields as the Bot API documents them (sticker, contact, location, ...)."""
        sender = self.users[from_user if isinstance(from_user, int) else from_user.id]
        chat = self.chats[chat_id]
        command = re.match(r"/\w+(@\w+)?", text or "")
        if command and entities is None:  # Telegram marks commands, and some filters rely on it
            entities = [{"type": "bot_command", "offset": 0, "length": command.end()}]
        content: dict[str, Any] = {"text": text, "entities": entities}
        stored = None
        for kind, value in (("photo", photo), ("document", document), ("voice", voice), ("video", video)):
            if value is not None:
                name, data = value if isinstance(value, tuple) else (f"{kind}.jpg" if kind == "photo" else None, value)
                stored = self.add_file(data, kind, name)
                content = self._media_content(stored) | {"caption": caption}
        if forward_origin is not None:
            content["forward_origin"] = forward_origin
        if media_group_id is not None:  # one part of an album: each part is its own message and update
            content["media_group_id"] = media_group_id
        content |= extra or {}
        msg = self._store(chat, sender, content, thread=message_thread_id, reply_to=reply_to_message_id)
        msg.file = stored
        where = "" if chat.user else f" @ {self._where(chat, message_thread_id)}"
        self._emit(f"{sender['first_name']}{where} → {self._describe(msg)}")
        self.push_update({"message": msg.raw})
        return msg.raw

    def push_callback(
        self,
        from_user: FakeUser | int,
        message_id: int,
        chat_id: int,
        data: str,
        *,
        button_text: str | None = None,
        inaccessible: bool = False,
    ) -> str:
        """inaccessible: the message is too old for Telegram to include, so it sends an InaccessibleMessage."""
        sender = self.users[from_user if isinstance(from_user, int) else from_user.id]
        msg = self.message(chat_id, message_id)
        if msg is None or msg.deleted:
            raise LookupError(f"no message {message_id} in chat {chat_id}")
        callback_id = str(next(self._ids))
        self._callbacks.add(callback_id)
        self._emit(f"{sender['first_name']} ⟶ presses [{button_text or data}]")
        shown = {"chat": msg.raw["chat"], "message_id": message_id, "date": 0} if inaccessible else msg.raw
        query = {"id": callback_id, "from": sender, "message": shown, "chat_instance": f"ci{chat_id}"}
        self.push_update({"callback_query": query | {"data": data}})
        return callback_id

    def push_edit(self, from_user: FakeUser | int, chat_id: int, message_id: int, text: str) -> dict[str, Any]:
        """The person edits the text of a message they sent: an edited_message update with the new version."""
        sender = self.users[from_user if isinstance(from_user, int) else from_user.id]
        msg = self.message(chat_id, message_id)
        if msg is None or msg.deleted or msg.sender_id != sender["id"] or "text" not in msg.raw:
            raise LookupError(f"no text message {message_id} of {sender['id']} in chat {chat_id}")
        msg.raw |= {"text": text, "edit_date": int(time.time())}
        msg.raw.pop("entities", None)
        self._emit(f"{sender['first_name']} ✎ {_indent(text)}")
        self.push_update({"edited_message": dict(msg.raw)})
        return msg.raw

    # ----- looking at the world ------------------------------------------------------------------

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def send_times(self, chat_id: int | None = None) -> list[float]:
        """When successful message-creating calls arrived (monotonic), for throughput checks."""
        return [c.at for c in self.calls if c.ok and c.method in SEND_METHODS and chat_id in (None, c.chat_id)]

    def messages_in(self, chat_id: int, *, thread_id: int | None = None) -> list[StoredMessage]:
        return [m for m in self._messages.get(chat_id, []) if thread_id in (None, m.message_thread_id)]

    def message(self, chat_id: int, message_id: int) -> StoredMessage | None:
        return next((m for m in self._messages.get(chat_id, []) if m.message_id == message_id), None)

    def transcript(self) -> list[str]:
        return list(self._transcript)

    def on_event(self, callback: Callable[[str], Any]) -> None:
        self._listeners.append(callback)

    async def settle(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - part of the public API
        target = self._last_update_id
        await self.wait_for(
            lambda: not any(u["update_id"] <= target for u in self._pending),
            timeout,
            what=f"the bot to fetch update {target} (is a Dispatcher polling with handle_as_tasks=False?)",
        )

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0, *, what: str = "") -> None:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while True:
            changed = self._changed
            if predicate():
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                last = "\n  ".join(str(c) for c in self.calls[-8:]) or "(none)"
                raise TimeoutError(f"timed out after {timeout}s waiting for {what or predicate}; last calls:\n  {last}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    # ----- internals: events ---------------------------------------------------------------------

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

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
        return _indent(f"{shown.strip()} {buttons}".strip())

    # ----- internals: HTTP -----------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, bytes] = {}
        filenames: dict[str, str] = {}
        if request.content_type == "application/json":
            params |= await request.json()
        elif request.can_read_body:
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    files[key], filenames[key] = value.file.read(), value.filename
                else:
                    params[key] = value
        params = {k: _convert(k, v) for k, v in params.items()}
        requested = request.match_info["method"]
        name, fn = self._methods.get(requested.lower(), (requested, None))
        call = ApiCall(name, params, files, time.monotonic(), filenames=filenames)
        try:
            if not TOKEN_RE.match(request.match_info["token"]):
                raise ApiError(401, "Unauthorized")
            if fn is None:
                raise ApiError(404, "Not Found: method not found")
            self._inject_fault(name, params)
            result = fn(params, call)
            if inspect.isawaitable(result):
                result = await result
            call.status, call.response = 200, {"ok": True, "result": result}
        except ApiError as e:
            call.status, call.response = e.status, e.body()
            if name in SEND_METHODS and (chat := self.chats.get(params.get("chat_id"))):  # type: ignore[arg-type]
                self._emit(f"bot ✗ {chat.label}: {e.description}")
        self.calls.append(call)
        self._notify()
        held = next((h for h in self._held if h[0] == name.lower() and h[1] in (None, params.get("chat_id"))), None)
        if held is not None and call.ok:
            self._held.remove(held)
            await held[2].wait()
        return web.json_response(call.response, status=call.status)

    async def _download(self, request: web.Request) -> web.Response:
        stored = next((f for f in self.files.values() if f.file_path == request.match_info["path"]), None)
        if stored is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        return web.Response(body=stored.data, content_type=stored.mime_type)

    def _inject_fault(self, method: str, params: dict[str, Any]) -> None:
        for fault in self._faults:
            if fault.method in (method.lower(), "*") and fault.chat_id in (None, params.get("chat_id")):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                raise fault.error

    # ----- internals: chats and messages ---------------------------------------------------------

    def _chat(self, p: dict[str, Any], key: str = "chat_id") -> FakeChat:
        chat = self.chats.get(p.get(key))  # type: ignore[arg-type]
        if chat is None:
            raise bad("chat not found")
        return chat

    def _target(self, p: dict[str, Any], *, sending: bool = False) -> FakeChat:
        chat = self._chat(p)
        if chat.user and chat.id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat.user and chat.id in self.deactivated:
            raise ApiError(403, "Forbidden: user is deactivated")
        thread = p.get("message_thread_id")
        if chat.is_forum and thread and thread not in chat.topics:
            raise bad("message thread not found")
        if chat.is_forum and thread and sending and chat.topics[thread].get("closed"):
            raise bad("TOPIC_CLOSED")
        if sending:
            self._check_rate(chat.id)
        return chat

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
            "date": int(time.time()),
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

    # ----- methods: messages ---------------------------------------------------------------------

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
        if (plain, entities, _norm(markup)) == (msg.text or "", msg.entities, _norm(msg.reply_markup)):
            raise bad(NOT_MODIFIED)
        msg.raw = {k: v for k, v in (msg.raw | {key: plain, entities_key: entities}).items() if v not in ("", [])}
        msg.sent_text, msg.parse_mode = p.get(key), p.get("parse_mode")
        return self._edited(chat, msg, markup)

    def _edit_markup(self, p: dict[str, Any], c: ApiCall) -> dict[str, Any]:
        chat, msg = self._find(p, "message to edit not found")
        markup = self._check_markup(p.get("reply_markup"))
        if _norm(markup) == _norm(msg.reply_markup):
            raise bad(NOT_MODIFIED)
        return self._edited(chat, msg, markup)

    def _edited(self, chat: FakeChat, msg: StoredMessage, markup: dict[str, Any] | None) -> dict[str, Any]:
        # Like Telegram: an edit without reply_markup removes the inline keyboard.
        msg.reply_markup = markup
        msg.raw.pop("reply_markup", None)
        msg.raw |= {"reply_markup": markup} if _norm(markup) else {}
        msg.raw["edit_date"] = int(time.time())
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

    # ----- methods: chats ------------------------------------------------------------------------

    def _get_chat(self, p: dict[str, Any], c: ApiCall) -> dict[str, Any]:
        gifts = _words("unlimited_gifts limited_gifts unique_gifts premium_subscription gifts_from_channels")
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

    # ----- methods: updates ----------------------------------------------------------------------

    async def _get_updates(self, p: dict[str, Any], c: ApiCall) -> list[dict[str, Any]]:
        if self.webhook:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")  # fmt: skip
        self.polls_started += 1
        while p.get("offset") and self._pending and self._pending[0]["update_id"] < p["offset"]:
            self._pending.popleft()
        if "allowed_updates" in p:  # kept until given again, as Telegram does
            self.allowed_updates = frozenset(p["allowed_updates"]) or None
        self._notify()  # settle() waits for these confirmations, not for the poll to end
        deadline = time.monotonic() + min(float(p.get("timeout") or 0), 50.0)
        while True:
            changed = self._changed
            remaining = deadline - time.monotonic()
            self._drop_unwanted()
            if self._pending or self._closing or remaining <= 0:
                return list(itertools.islice(self._pending, min(max(p.get("limit") or 100, 1), 100)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def _set_webhook(self, p: dict[str, Any], c: ApiCall) -> bool:
        if not p.get("url"):
            return self._delete_webhook(p, c)
        if p.get("drop_pending_updates"):
            self._pending.clear()
        self.webhook = {"url": p["url"], "secret_token": p.get("secret_token")}
        if "allowed_updates" in p:
            self.allowed_updates = frozenset(p["allowed_updates"]) or None
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.get_running_loop().create_task(self._deliver())
        return True

    def _drop_unwanted(self) -> None:
        """Updates of a type the bot did not ask for are never delivered (allowed_updates)."""

        def wanted(update: dict[str, Any]) -> bool:
            kind = next(key for key in update if key != "update_id")
            return kind not in NOT_BY_DEFAULT if self.allowed_updates is None else kind in self.allowed_updates

        if not all(wanted(update) for update in self._pending):
            self._pending = deque(update for update in self._pending if wanted(update))
            self._notify()

    def _delete_webhook(self, p: dict[str, Any], c: ApiCall) -> bool:
        if p.get("drop_pending_updates"):
            self._pending.clear()
        self.webhook = {}
        return True

    def _webhook_info(self, p: dict[str, Any], c: ApiCall) -> dict[str, Any]:
        info = {"url": self.webhook.get("url", ""), "has_custom_certificate": False}
        return info | {"pending_update_count": len(self._pending)}

    async def _deliver(self) -> None:
        async with ClientSession(timeout=ClientTimeout(total=10)) as http:
            while self.webhook and not self._closing:
                changed = self._changed
                self._drop_unwanted()
                if not self._pending:
                    await changed.wait()
                    continue
                update, secret = self._pending[0], self.webhook.get("secret_token")
                headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
                try:
                    async with http.post(self.webhook["url"], json=update, headers=headers) as resp:
                        delivered = resp.status < 300
                except (ClientError, OSError, TimeoutError):
                    delivered = False
                if delivered and self._pending and self._pending[0] is update:
                    self._pending.popleft()
                    self._notify()
                elif not delivered:
                    await asyncio.sleep(0.2)  # Telegram retries failed deliveries, so do we (faster)

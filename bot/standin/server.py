"""An in-process stand-in for the Telegram Bot API, spoken to by aiogram over real HTTP."""

from __future__ import annotations

import asyncio
import inspect
import re
import time
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from typing import Any

from aiohttp import web

from bot.standin.chats import ChatMethods
from bot.standin.client import FakeUser
from bot.standin.invites import InviteMethods
from bot.standin.messages import MessageMethods
from bot.standin.payments import PaymentMethods
from bot.standin.records import (
    MEDIA_KINDS,
    SEND_METHODS,
    TOKEN_RE,
    ApiCall,
    ApiError,
    CallbackAnswer,
    FakeChat,
    Fault,
    MessageEdit,
    StoredFile,
    StoredMessage,
    bad,
    convert,
    formatted,
    indent,
)
from bot.standin.updates import UpdateMethods

# the value types are defined in records; these names stay importable from here, where they used to live
__all__ = [
    "ApiCall",
    "ApiError",
    "BotAPIStandIn",
    "CallbackAnswer",
    "FakeChat",
    "MessageEdit",
    "StoredFile",
    "StoredMessage",
    "bad",
    "formatted",
]


class BotAPIStandIn(MessageMethods, ChatMethods, InviteMethods, UpdateMethods, PaymentMethods):
    """The stand-in: its HTTP server, the world tests set up, what people do in it, and what tests look at."""

    # ----- the Bot API methods it answers (bodies: messages, chats, invites, membership, updates, payments) -----

    @cached_property
    def _methods(self) -> dict[str, tuple[str, Callable[[dict[str, Any], ApiCall], Any]]]:
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
            "getChatMember": self._get_member, "banChatMember": self._ban, "unbanChatMember": self._unban,
            "createForumTopic": self._create_topic,
            "editForumTopic": lambda p, c: self._change_topic(p, "edit"),
            "closeForumTopic": lambda p, c: self._change_topic(p, "close"),
            "reopenForumTopic": lambda p, c: self._change_topic(p, "reopen"),
            "deleteForumTopic": lambda p, c: self._change_topic(p, "delete"),
            "createChatInviteLink": self._create_link, "editChatInviteLink": self._edit_link,
            "revokeChatInviteLink": self._revoke_link, "exportChatInviteLink": self._export_link,
            "createChatSubscriptionInviteLink": self._create_subscription_link,
            "editChatSubscriptionInviteLink": self._edit_subscription_link,
            "approveChatJoinRequest": lambda p, c: self._answer_join_request(p, True),
            "declineChatJoinRequest": lambda p, c: self._answer_join_request(p, False),
            "getFile": self._get_file,
            "sendInvoice": self._send_invoice, "createInvoiceLink": self._create_invoice_link,
            "answerPreCheckoutQuery": self._answer_pre_checkout, "refundStarPayment": self._refund,
            "editUserStarSubscription": self._edit_subscription,
        }
        # fmt: on
        methods |= {f"send{kind.title()}": self._send_media for kind in MEDIA_KINDS}
        return {name.lower(): (name, fn) for name, fn in methods.items()}

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
        started: bool = True,
    ) -> FakeUser:
        """started=False: someone who never wrote to the bot, so it may not write to them first (403) until they
        do, except for 5 minutes after they ask to join a chat (ChatJoinRequest.user_chat_id)."""
        if not started:
            self.never_started.add(user_id)
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
        channel: bool = False,
        bot_status: str = "administrator",
        bot_rights: Iterable[str] | None = None,
    ) -> FakeChat:
        """A group (a supergroup when its id starts with -100 or it is a forum), or a channel. The bot is in it
        as `bot_status`, an administrator by default, with `bot_rights` (None: every right); no update is sent."""
        statuses = dict(members) if isinstance(members, Mapping) else dict.fromkeys(members, "member")
        kind = "supergroup" if is_forum or str(chat_id).startswith("-100") else "group"
        chat = FakeChat(chat_id, "channel" if channel else kind, title=title, is_forum=is_forum, members=statuses)
        chat.bot_status, chat.bot_rights = bot_status, self._granted(bot_status, bot_rights)
        self.chats[chat_id] = chat
        return chat

    def set_member(self, chat_id: int, user_id: int, status: str = "member") -> None:
        self.chats[chat_id].members[user_id] = status

    def deactivate(self, user_id: int) -> None:
        """The user deleted their account: sends fail with 403, and Telegram sends the bot no update about it."""
        self.deactivated.add(user_id)

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

    # ----- injecting what people do --------------------------------------------------------------

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
        if chat.user:  # writing to the bot lets it write back from now on
            self.never_started.discard(sender["id"])
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
        msg.raw |= {"text": text, "edit_date": int(self.now())}
        msg.raw.pop("entities", None)
        self._emit(f"{sender['first_name']} ✎ {indent(text)}")
        self.push_update({"edited_message": dict(msg.raw)})
        return msg.raw

    # ----- looking at the world ------------------------------------------------------------------

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def send_times(self, chat_id: int | None = None) -> list[float]:
        """When successful message-creating calls arrived (monotonic), for throughput checks."""
        return [c.at for c in self.calls if c.ok and c.method in SEND_METHODS and chat_id in (None, c.chat_id)]

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
        if not await self._until(predicate, timeout):
            last = "\n  ".join(str(c) for c in self.calls[-8:]) or "(none)"
            raise TimeoutError(f"timed out after {timeout}s waiting for {what or predicate}; last calls:\n  {last}")

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
        params = {k: convert(k, v) for k, v in params.items()}
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

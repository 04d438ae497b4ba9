"""What the stand-in keeps and returns: its errors, calls, messages, chats and files, and the field rules."""

from __future__ import annotations

import contextlib
import json
import mimetypes
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.standin.html import HtmlError, parse_html


def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# aiogram sends every field as a string; these are the ones worth turning back into ints, bools or JSON.
INT_FIELDS = words(
    "chat_id from_chat_id user_id message_id message_thread_id reply_to_message_id offset limit timeout "
    "cache_time max_connections expire_date member_limit icon_color duration width height until_date "
    "subscription_period subscription_price"
)
BOOL_FIELDS = words(
    "disable_notification protect_content show_alert drop_pending_updates has_spoiler creates_join_request "
    "allow_sending_without_reply supports_streaming disable_content_type_detection allow_paid_broadcast "
    "revoke_messages only_if_banned"
)
JSON_FIELDS = words(
    "reply_markup entities caption_entities allowed_updates media commands scope reply_parameters "
    "link_preview_options message_ids"
)
MEDIA_KINDS = ("photo", "video", "document", "voice", "audio", "animation")
SEND_METHODS = words("sendMessage copyMessage forwardMessage sendMediaGroup") | {
    f"send{kind.title()}" for kind in MEDIA_KINDS
}
ADMIN_RIGHTS = words(
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
    type: str  # private, group, supergroup or channel
    title: str | None = None
    user: dict[str, Any] | None = None
    is_forum: bool = False
    members: dict[int, str] = field(default_factory=dict)  # user id → creator, administrator, member, kicked
    topics: dict[int, dict[str, Any]] = field(default_factory=dict)
    pinned: list[int] = field(default_factory=list)
    # the bot's own place in a group: an administrator with every right unless the test world says otherwise
    bot_status: str = "administrator"
    bot_rights: frozenset[str] = ADMIN_RIGHTS
    banned_until: dict[int, int] = field(default_factory=dict)  # user id → until_date (0: forever)

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


def convert(key: str, value: Any) -> Any:
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


def norm_markup(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    return markup if markup and (markup.get("inline_keyboard") or markup.get("keyboard")) else None


def indent(text: str) -> str:
    return text.replace("\n", "\n    ")


@dataclass
class StarInvoice:
    """An invoice the bot made, by sendInvoice (a message) or createInvoiceLink (a link)."""

    title: str
    description: str
    payload: str
    amount: int  # in Stars
    subscription_period: int | None = None  # seconds between renewals; only links carry one


@dataclass
class Subscription:
    period: int
    expires_at: int  # Unix time
    cancelled: bool = False


@dataclass
class StarCharge:
    """One completed payment; a subscription's renewals are charges of their own sharing its Subscription."""

    charge_id: str
    user_id: int
    invoice: StarInvoice
    subscription: Subscription | None = None
    refunded: bool = False

    @property
    def amount(self) -> int:
        return self.invoice.amount


class JoinResult(StrEnum):
    """What became of a person opening an invite link, as their Telegram app would show it."""

    JOINED = "joined"
    REQUESTED = "requested"  # a join request waits for an administrator
    ALREADY_MEMBER = "already a member"
    UNKNOWN = "invalid link"
    REVOKED = "link revoked"
    EXPIRED = "link expired"
    FULL = "member limit reached"
    BANNED = "banned from the chat"


@dataclass
class InviteLink:
    """An invite link the bot made; `joined` holds who came in through it (member_limit counts those still in)."""

    url: str
    chat_id: int
    creator: dict[str, Any]
    name: str = ""
    expire_date: int = 0  # 0: never
    member_limit: int = 0  # 0: none
    creates_join_request: bool = False
    is_primary: bool = False
    is_revoked: bool = False
    subscription_period: int = 0
    subscription_price: int = 0
    joined: set[int] = field(default_factory=set)

    def as_dict(self, pending: int = 0) -> dict[str, Any]:
        """The ChatInviteLink object; optional fields left out when empty, as the Bot API server does."""
        link: dict[str, Any] = {"invite_link": self.url, "creator": self.creator}
        optional = {"name": self.name, "expire_date": self.expire_date, "member_limit": self.member_limit}
        optional |= {"pending_join_request_count": pending}
        link |= {k: v for k, v in optional.items() if v}
        if self.subscription_price:
            link |= {"subscription_period": self.subscription_period, "subscription_price": self.subscription_price}
        flags = {"creates_join_request": self.creates_join_request, "is_primary": self.is_primary}
        return link | flags | {"is_revoked": self.is_revoked}


@dataclass
class JoinRequest:
    chat_id: int
    user_id: int
    link: str
    date: int  # Unix time, Telegram's clock
    bio: str | None = None

"""A broadcast's draft: the wizard's step, the content it collected, and what each recipient gets of it.

The draft lives in the `broadcasts` table (status draft, the wizard's state in `content`), so a restart loses
nothing. Plain functions over the row: the wizard reads and changes them, the delivery sends what `outs` says.
"""

import re
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.db.models import Broadcast
from bot.outbox.messages import Out
from bot.services.segments import Segment

ALBUM_TYPES = ("photo", "video", "document", "audio")
COPYABLE = ("text", "photo", "video", "document", "voice", "animation", "audio")
BUTTON_LINE = re.compile(r"^(?P<text>.+?)\s+[-–—]\s+(?P<url>https?://\S+)$")


class Step(StrEnum):
    SEGMENT = "segment"
    MESSAGE = "message"
    BUTTONS = "buttons"
    PREVIEW = "preview"
    SCHEDULE = "schedule"


class Accepted(StrEnum):
    SINGLE = "single"  # one message to copy: buttons may follow
    ALBUM = "album"  # the first part of an album
    ALBUM_PART = "album_part"  # a later part of the same album: nothing to say
    UNSUPPORTED = "unsupported"


def step_of(broadcast: Broadcast) -> Step:
    return Step(broadcast.content.get("step", Step.SEGMENT))


def set_content(broadcast: Broadcast, **changes: Any) -> None:
    # a new dict: SQLAlchemy only notices a JSON column change on assignment
    broadcast.content = {**broadcast.content, **changes}


def segment_of(broadcast: Broadcast) -> Segment:
    return Segment.model_validate(broadcast.segment)


def parse_buttons(text: str) -> list[tuple[str, str]] | int:
    """URL buttons, one a line ("Text - https://..."); the number of the first bad line otherwise."""
    buttons = []
    for number, line in enumerate((line.strip() for line in text.splitlines()), start=1):
        if not line:
            continue
        match = BUTTON_LINE.match(line)
        if match is None or len(match["text"]) > 64:
            return number
        buttons.append((match["text"].strip(), match["url"]))
    return buttons or 1


def parse_when(text: str, tz: ZoneInfo) -> datetime | None:
    try:
        moment = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        return None
    return moment.replace(tzinfo=tz)


def accept_message(draft: Broadcast, message: Message) -> Accepted:
    """Takes the staff member's message as the broadcast's content."""
    group = message.media_group_id
    if group is not None:
        kind = next((k for k in ALBUM_TYPES if getattr(message, k)), None)
        if kind is None:
            return Accepted.UNSUPPORTED
        media = getattr(message, kind)
        item = {
            "type": kind,
            "media": (media[-1] if kind == "photo" else media).file_id,
            "caption": message.caption,
            "caption_entities": [e.model_dump(mode="json", exclude_none=True) for e in message.caption_entities]
            if message.caption_entities
            else None,
            "parse_mode": None,  # the entities say it all; the bot's default HTML must not re-parse
            "message_id": message.message_id,
        }
        same = draft.content.get("kind") == "album" and draft.content.get("group") == group
        parts = [*draft.content.get("media", []), item] if same else [item]
        parts.sort(key=lambda part: part["message_id"])
        set_content(draft, kind="album", group=group, media=parts, message_id=None, buttons=[])
        return Accepted.ALBUM_PART if same else Accepted.ALBUM
    if not any(getattr(message, kind) for kind in COPYABLE):
        return Accepted.UNSUPPORTED
    set_content(draft, kind="copy", message_id=message.message_id, group=None, media=[], buttons=[])
    return Accepted.SINGLE


def outs(broadcast: Broadcast, *, paid: bool) -> list[Out]:
    """What each recipient gets; the preview uses the same, without paid mode."""
    content = broadcast.content
    extra: dict[str, Any] = {"allow_paid_broadcast": True} if paid else {}
    if content.get("kind") == "album":
        media = [{k: v for k, v in part.items() if k != "message_id"} for part in content["media"]]
        if len(media) == 1:  # a lone part: Telegram wants 2–10 in an album
            part = media[0]
            return [Out(f"send_{part['type']}", {part["type"]: part["media"], **_caption(part), **extra})]
        return [Out("send_media_group", {"media": media[:10], **extra})]
    markup = None
    if content.get("buttons"):
        rows = [[InlineKeyboardButton(text=text, url=url)] for text, url in content["buttons"]]
        markup = InlineKeyboardMarkup(inline_keyboard=rows).model_dump(mode="json", exclude_none=True)
    return [Out.copy(content["chat_id"], content["message_id"], reply_markup=markup, **extra)]


def _caption(part: dict[str, Any]) -> dict[str, Any]:
    return {k: part[k] for k in ("caption", "caption_entities", "parse_mode") if k in part}

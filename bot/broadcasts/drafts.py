"""A broadcast's draft: the wizard's step, the message it took, and what each recipient gets of it.

The draft lives in the `broadcasts` table (status draft, the wizard's state in `content`, typed by
`content.DraftContent`), so a restart loses nothing. Plain functions over the row: the wizard reads and changes
them, the delivery sends what `outs` says.
"""

import re
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.broadcasts.content import AlbumPart, AlbumType, DraftKind, Step, content_of, set_content
from bot.db.models import Broadcast
from bot.outbox.messages import Out
from bot.services.segments import Segment

COPYABLE = ("text", "photo", "video", "document", "voice", "animation", "audio")
BUTTON_LINE = re.compile(r"^(?P<text>.+?)\s+[-–—]\s+(?P<url>https?://\S+)$")


class Accepted(StrEnum):
    SINGLE = "single"  # one message to copy: buttons may follow
    ALBUM = "album"  # the first part of an album
    ALBUM_PART = "album_part"  # a later part of the same album: nothing to say
    UNSUPPORTED = "unsupported"


def step_of(broadcast: Broadcast) -> Step | None:
    """The wizard's step; None once the broadcast was confirmed."""
    return content_of(broadcast).step


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
    content = content_of(draft)
    group = message.media_group_id
    if group is not None:
        kind = next((k for k in AlbumType if getattr(message, k.value)), None)
        if kind is None:
            return Accepted.UNSUPPORTED
        media = getattr(message, kind.value)
        part = AlbumPart(
            type=kind,
            media=(media[-1] if kind is AlbumType.PHOTO else media).file_id,
            caption=message.caption,
            caption_entities=[e.model_dump(mode="json", exclude_none=True) for e in message.caption_entities]
            if message.caption_entities
            else None,
            parse_mode=None,  # the entities say it all; the bot's default HTML must not re-parse
            message_id=message.message_id,
        )
        same = content.collects(group)
        set_content(draft, content.with_album_part(group, part))
        return Accepted.ALBUM_PART if same else Accepted.ALBUM
    if not any(getattr(message, kind) for kind in COPYABLE):
        return Accepted.UNSUPPORTED
    set_content(draft, content.copying(message.message_id))
    return Accepted.SINGLE


def outs(broadcast: Broadcast, *, paid: bool) -> list[Out]:
    """What each recipient gets; the preview uses the same, without paid mode."""
    content = content_of(broadcast)
    extra: dict[str, Any] = {"allow_paid_broadcast": True} if paid else {}
    if content.kind is DraftKind.ALBUM:
        if len(content.media) == 1:  # a lone part: Telegram wants 2–10 in an album
            part = content.media[0]
            return [Out(f"send_{part.type.value}", {part.type.value: part.media, **part.caption_fields(), **extra})]
        return [Out("send_media_group", {"media": [part.input_media() for part in content.media[:10]], **extra})]
    markup = None
    if content.buttons:
        rows = [[InlineKeyboardButton(text=text, url=url)] for text, url in content.buttons]
        markup = InlineKeyboardMarkup(inline_keyboard=rows).model_dump(mode="json", exclude_none=True)
    assert content.chat_id is not None and content.message_id is not None, "a copy names the message it copies"
    return [Out.copy(content.chat_id, content.message_id, reply_markup=markup, **extra)]

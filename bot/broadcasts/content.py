"""What a broadcast row's JSON `content` holds, as one typed model: the wizard's state and what to send.

The column keeps the keys and values rows were stored with before the model: drafts and broadcasts stored by an
earlier version still load, keys they never had take their defaults, and a key this version does not know is
kept as it was. Only the keys a row had or was given are written back, so a row changes only where it changed.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, PlainSerializer, PlainValidator
from sqlalchemy import ColumnElement, func

from bot.db.models import Broadcast


class Step(StrEnum):
    SEGMENT = "segment"
    MESSAGE = "message"
    BUTTONS = "buttons"
    PREVIEW = "preview"
    SCHEDULE = "schedule"


class DraftKind(StrEnum):
    """How the message goes out: copied from the staff member's chat, or sent again as an album."""

    COPY = "copy"
    ALBUM = "album"


class AlbumType(StrEnum):
    """The media an album may mix; each is also the name of its send method's file parameter."""

    PHOTO = "photo"
    VIDEO = "video"
    DOCUMENT = "document"
    AUDIO = "audio"


class MenuPage(StrEnum):
    MAIN = "main"  # the main filters
    QUESTIONS = "qs"  # the survey questions to filter by
    QUESTION = "q"  # one question's options


@dataclass(frozen=True)
class MenuView:
    """What the segment menu shows; stored as "main", "qs" or "q:<question index>"."""

    page: MenuPage = MenuPage.MAIN
    question: int = 0  # the question's index, on the QUESTION page

    def stored(self) -> str:
        return f"{MenuPage.QUESTION.value}:{self.question}" if self.page is MenuPage.QUESTION else self.page.value

    @classmethod
    def parse(cls, value: object) -> "MenuView":
        if isinstance(value, MenuView):
            return value
        if not isinstance(value, str):
            raise ValueError("a menu view is a string")
        page, colon, index = value.partition(":")
        if colon:
            if page != MenuPage.QUESTION.value or not index.isdigit():
                raise ValueError(f"unknown menu view {value!r}")
            return cls(MenuPage.QUESTION, int(index))
        if page == MenuPage.QUESTION.value:
            raise ValueError("the question's menu view names its index")
        return cls(MenuPage(page))


StoredView = Annotated[MenuView, PlainValidator(MenuView.parse), PlainSerializer(MenuView.stored)]


class _Stored(BaseModel):
    # extra="allow": a key this version does not know is kept, and written back as it was
    model_config = ConfigDict(frozen=True, extra="allow")

    def stored(self) -> dict[str, Any]:
        """The JSON the column holds: the keys the row had or was given, nothing filled in by a default."""
        return self.model_dump(mode="json", exclude_unset=True)

    def _with(self, **changes: Any) -> Self:
        # model_copy marks the changed fields as set, so stored() writes them
        return self.model_copy(update=changes)


class AlbumPart(_Stored):
    """One part of an album, in the form of sendMediaGroup's InputMedia, and the message it came from."""

    type: AlbumType
    media: str  # the file_id
    caption: str | None = None
    caption_entities: list[dict[str, Any]] | None = None
    parse_mode: str | None = None  # None: the entities say it all; the bot's default HTML must not re-parse
    message_id: int  # orders the parts: they arrive as separate updates, maybe out of order

    def input_media(self) -> dict[str, Any]:
        """The part as sendMediaGroup takes it."""
        return self.model_dump(mode="json", exclude_unset=True, exclude={"message_id"})

    def caption_fields(self) -> dict[str, Any]:
        """The caption parameters of a single send_<type>, as far as the part has them."""
        return self.model_dump(mode="json", exclude_unset=True, include={"caption", "caption_entities", "parse_mode"})


class DraftContent(_Stored):
    """A broadcast's `content`: the wizard's state while a draft, then what each recipient gets."""

    step: Step | None = Step.SEGMENT  # None once confirmed
    chat_id: int | None = None  # the staff member's chat: a copied message is copied from there
    lang: str | None = None  # the staff member's language, for the progress message and report
    view: StoredView = MenuView()
    kind: DraftKind | None = None  # None until the message is sent
    message_id: int | None = None  # the message to copy (COPY)
    group: str | None = None  # the album's media_group_id (ALBUM)
    media: tuple[AlbumPart, ...] = ()  # the album's parts in message order (ALBUM)
    buttons: tuple[tuple[str, str], ...] = ()  # URL buttons as (text, url), one a row (COPY)
    reported: bool = False  # the progress message became the final report

    def at_step(self, step: Step | None) -> Self:
        return self._with(step=step)

    def showing(self, view: MenuView) -> Self:
        return self._with(view=view)

    def with_buttons(self, buttons: list[tuple[str, str]]) -> Self:
        return self._with(buttons=tuple(buttons))

    def copying(self, message_id: int) -> Self:
        """One message to copy, without buttons yet; an album collected before is dropped."""
        return self._with(kind=DraftKind.COPY, message_id=message_id, group=None, media=(), buttons=())

    def with_album_part(self, group: str, part: AlbumPart) -> Self:
        """A part of album `group`: added to the parts of the same album, or the first of a new one."""
        parts = [*self.media, part] if self.collects(group) else [part]
        parts.sort(key=lambda p: p.message_id)
        return self._with(kind=DraftKind.ALBUM, group=group, media=tuple(parts), message_id=None, buttons=())

    def collects(self, group: str) -> bool:
        """Album `group` is the one being collected."""
        return self.kind is DraftKind.ALBUM and self.group == group

    def marked_reported(self) -> Self:
        return self._with(reported=True)


def content_of(broadcast: Broadcast) -> DraftContent:
    return DraftContent.model_validate(broadcast.content)


def set_content(broadcast: Broadcast, content: DraftContent) -> None:
    # a new dict: SQLAlchemy only notices a JSON column change on assignment
    broadcast.content = content.stored()


def not_reported() -> ColumnElement[bool]:
    """SQL: the broadcast's final report was not sent yet (a row without the key has not been reported)."""
    key = "reported"
    assert key in DraftContent.model_fields  # the key the model stores `reported` under
    return func.coalesce(Broadcast.content[key].as_boolean(), False).is_(False)

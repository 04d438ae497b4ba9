"""A broadcast's typed content reads the JSON rows were stored with before it was typed, and writes the same."""

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import select

from bot.broadcasts.content import (
    AlbumPart,
    AlbumType,
    DraftContent,
    DraftKind,
    MenuPage,
    MenuView,
    Step,
    content_of,
    not_reported,
    set_content,
)
from bot.broadcasts.drafts import outs, step_of
from bot.db.engine import create_engine, create_session_factory
from bot.db.models import Broadcast, BroadcastStatus
from bot.db.uow import UnitOfWorkFactory
from bot.outbox.messages import Out

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
ENTITIES = [{"type": "bold", "offset": 0, "length": 4}]


def part(message_id: int, kind: str = "photo", caption: str | None = None) -> dict[str, Any]:
    """An album part as the wizard stored it before the content was typed."""
    return {
        "type": kind,
        "media": f"file-{message_id}",
        "caption": caption,
        "caption_entities": ENTITIES if caption else None,
        "parse_mode": None,
        "message_id": message_id,
    }


# rows as the earlier version stored them, at each point of a broadcast's life
OLD_ROWS: dict[str, dict[str, Any]] = {
    "new draft": {"step": "segment", "chat_id": 7, "lang": "en"},
    "question menu": {"step": "segment", "chat_id": 7, "lang": "ru", "view": "q:2"},
    "questions menu": {"step": "segment", "chat_id": 7, "lang": "en", "view": "qs"},
    "waiting for the message": {"step": "message", "chat_id": 7, "lang": "en", "view": "main"},
    "copy with buttons": {
        "step": "preview",
        "chat_id": 7,
        "lang": "en",
        "view": "main",
        "kind": "copy",
        "message_id": 41,
        "group": None,
        "media": [],
        "buttons": [["Site", "https://example.com"], ["Docs", "https://example.com/docs"]],
    },
    "album collected": {
        "step": "message",
        "chat_id": 7,
        "lang": "en",
        "view": "main",
        "kind": "album",
        "group": "1357",
        "media": [part(50, caption="Look"), part(51, "video")],
        "message_id": None,
        "buttons": [],
    },
    "confirmed": {"step": None, "chat_id": 7, "lang": "en", "kind": "copy", "message_id": 41, "buttons": []},
    "reported": {"step": None, "chat_id": 7, "lang": "en", "kind": "copy", "message_id": 41, "reported": True},
    "empty": {},
    "a key this version does not know": {"step": "buttons", "chat_id": 7, "kind": "copy", "message_id": 3, "x": [1]},
}


@pytest.mark.parametrize("stored", OLD_ROWS.values(), ids=OLD_ROWS.keys())
def test_old_rows_load_and_store_back_unchanged(stored: dict[str, Any]) -> None:
    broadcast = Broadcast(content=stored)
    set_content(broadcast, content_of(broadcast))
    assert broadcast.content == stored


def test_missing_keys_take_the_defaults_the_old_reads_had() -> None:
    content = content_of(Broadcast(content={}))
    assert content.step is Step.SEGMENT
    assert content.view == MenuView(MenuPage.MAIN)
    assert content.kind is None
    assert (content.media, content.buttons, content.reported, content.lang) == ((), (), False, None)


def test_old_rows_read_as_typed_values() -> None:
    copy = content_of(Broadcast(content=OLD_ROWS["copy with buttons"]))
    assert copy.kind is DraftKind.COPY and copy.step is Step.PREVIEW
    assert copy.buttons == (("Site", "https://example.com"), ("Docs", "https://example.com/docs"))
    album = content_of(Broadcast(content=OLD_ROWS["album collected"]))
    assert [(p.type, p.message_id, p.caption) for p in album.media] == [
        (AlbumType.PHOTO, 50, "Look"),
        (AlbumType.VIDEO, 51, None),
    ]
    assert content_of(Broadcast(content=OLD_ROWS["question menu"])).view == MenuView(MenuPage.QUESTION, 2)
    assert content_of(Broadcast(content=OLD_ROWS["reported"])).reported is True
    assert step_of(Broadcast(content=OLD_ROWS["confirmed"])) is None


def test_changes_write_what_the_old_key_merges_wrote() -> None:
    row = dict(OLD_ROWS["new draft"])
    broadcast = Broadcast(content=row)
    set_content(broadcast, content_of(broadcast).showing(MenuView(MenuPage.QUESTION, 1)))
    assert broadcast.content == {**row, "view": "q:1"}
    set_content(broadcast, content_of(broadcast).at_step(Step.MESSAGE).showing(MenuView()))
    assert broadcast.content == {**row, "view": "main", "step": "message"}
    set_content(broadcast, content_of(broadcast).copying(41))
    copied = {**row, "view": "main", "step": "message", "kind": "copy", "message_id": 41, "group": None}
    assert broadcast.content == {**copied, "media": [], "buttons": []}
    set_content(broadcast, content_of(broadcast).with_buttons([("Site", "https://example.com")]).at_step(Step.PREVIEW))
    assert broadcast.content == {**copied, "step": "preview", "media": [], "buttons": [["Site", "https://example.com"]]}
    set_content(broadcast, content_of(broadcast).at_step(None).marked_reported())
    assert broadcast.content["step"] is None and broadcast.content["reported"] is True


def test_album_parts_collect_in_message_order_and_a_new_album_starts_over() -> None:
    broadcast = Broadcast(content=dict(OLD_ROWS["album collected"]))
    late = AlbumPart.model_validate(part(49, "document"))
    set_content(broadcast, content_of(broadcast).with_album_part("1357", late))
    assert [p["message_id"] for p in broadcast.content["media"]] == [49, 50, 51]
    assert broadcast.content["media"][0] == part(49, "document")
    set_content(broadcast, content_of(broadcast).with_album_part("2468", late))
    assert broadcast.content["group"] == "2468" and broadcast.content["media"] == [part(49, "document")]


def test_what_recipients_get_of_old_rows() -> None:
    copy = outs(Broadcast(content=OLD_ROWS["copy with buttons"]), paid=True)
    markup = {
        "inline_keyboard": [
            [{"text": "Site", "url": "https://example.com"}],
            [{"text": "Docs", "url": "https://example.com/docs"}],
        ]
    }
    assert copy == [Out.copy(7, 41, reply_markup=markup, allow_paid_broadcast=True)]
    album = outs(Broadcast(content=OLD_ROWS["album collected"]), paid=False)
    expected = [
        {k: v for k, v in p.items() if k != "message_id"} for p in (part(50, caption="Look"), part(51, "video"))
    ]
    assert album == [Out("send_media_group", {"media": expected})]
    lone = {**OLD_ROWS["album collected"], "media": [part(50, caption="Look")]}
    caption = {"caption": "Look", "caption_entities": ENTITIES, "parse_mode": None}
    assert outs(Broadcast(content=lone), paid=False) == [Out("send_photo", {"photo": "file-50", **caption})]


@pytest.mark.parametrize(
    "stored",
    [{"kind": "poll"}, {"step": "sending"}, {"view": "q:"}, {"view": "q"}, {"view": "x:1"}, {"buttons": [["a"]]}],
)
def test_a_value_no_version_stored_does_not_load(stored: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        DraftContent.model_validate(stored)


@given(st.sampled_from(MenuPage), st.integers(min_value=0, max_value=99))
def test_menu_views_store_and_parse_back(page: MenuPage, question: int) -> None:
    view = MenuView(page, question) if page is MenuPage.QUESTION else MenuView(page)
    assert MenuView.parse(view.stored()) == view


async def test_not_reported_reads_the_stored_key_on_both_backends(database_url: str) -> None:
    engine = create_engine(database_url)
    factory = UnitOfWorkFactory(create_session_factory(engine))
    try:
        contents = {"never said": OLD_ROWS["confirmed"], "said": OLD_ROWS["reported"], "false": {"reported": False}}
        async with factory() as uow:
            rows = {
                name: Broadcast(created_by=1, status=BroadcastStatus.DONE, content=content, created_at=NOW)
                for name, content in contents.items()
            }
            uow.session.add_all(rows.values())
            await uow.commit()
            ids = {name: row.id for name, row in rows.items()}
        async with factory() as uow:
            found = set(await uow.session.scalars(select(Broadcast.id).where(not_reported())))
            assert found == {ids["never said"], ids["false"]}
            stored = await uow.session.get(Broadcast, ids["never said"])
            assert stored is not None and stored.content == OLD_ROWS["confirmed"]
            set_content(stored, content_of(stored).marked_reported())
            await uow.commit()
        async with factory() as uow:
            found = set(await uow.session.scalars(select(Broadcast.id).where(not_reported())))
            assert found == {ids["false"]}
    finally:
        await engine.dispose()

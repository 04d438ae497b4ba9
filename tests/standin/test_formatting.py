"""Through aiogram: the stand-in refuses the HTML Telegram refuses, in Telegram's words, and stores what Telegram
would show (text and entities from the parse, lengths counted after it in UTF-16 code units)."""

from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, MessageEntity

from bot.standin import BotAPIStandIn

PHOTO = BufferedInputFile(b"\x89PNG fake", filename="cat.png")


def e(kind: str, offset: int, length: int, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "offset": offset, "length": length} | extra


def dumped(entities: list[MessageEntity] | None) -> list[dict[str, Any]]:
    """aiogram's entities as the Bot API sent them (its models do not compare equal field by field)."""
    return [entity.model_dump(exclude_none=True) for entity in entities or []]


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("I <3 this", 'Unsupported start tag "3" at byte offset 2'),
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<span>secret</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<i>a <b>b</i></b>", 'Unmatched end tag at byte offset 9, expected "</b>", found "</i>"'),
    ],
)
async def test_html_telegram_refuses_is_refused_with_telegrams_description(
    standin: BotAPIStandIn, bot: Bot, html: str, reason: str
) -> None:
    alice = standin.user(101, "Alice")
    description = f"Bad Request: can't parse entities: {reason}"
    with pytest.raises(TelegramBadRequest) as sending:
        await bot.send_message(101, html, parse_mode="HTML")
    with pytest.raises(TelegramBadRequest) as captioning:
        await bot.send_photo(101, PHOTO, caption=html, parse_mode="HTML")
    assert sending.value.message == captioning.value.message == description
    assert [c.status for c in standin.calls] == [400, 400]
    assert alice.messages == []


async def test_edit_to_html_telegram_refuses_is_refused_and_keeps_the_message(standin: BotAPIStandIn, bot: Bot) -> None:
    alice = standin.user(101, "Alice")
    sent = await bot.send_message(101, "<b>fine</b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match='Unsupported start tag "3" at byte offset 2'):
        await bot.edit_message_text("I <3 this", chat_id=101, message_id=sent.message_id, parse_mode="HTML")
    assert alice.messages[0].text == "fine" and alice.messages[0].edits == []


async def test_text_and_entities_come_from_the_parse_in_utf16_offsets(standin: BotAPIStandIn, bot: Bot) -> None:
    alice = standin.user(101, "Alice")
    html = '😀 <b>Шаг <i>1</i></b> &amp; <a href="https://example.com/x">ссылка</a> Tom & Jerry > 3'
    sent = await bot.send_message(101, html, parse_mode="HTML")
    assert sent.text == "😀 Шаг 1 & ссылка Tom & Jerry > 3"
    entities = [e("bold", 3, 5), e("italic", 7, 1), e("text_link", 11, 6, url="https://example.com/x")]
    assert dumped(sent.entities) == entities
    stored = alice.messages[0]
    assert (stored.text, stored.sent_text, stored.entities) == (sent.text, html, entities)


async def test_caption_entities_come_from_the_parse(standin: BotAPIStandIn, bot: Bot) -> None:
    standin.user(101, "Alice")
    sent = await bot.send_photo(101, PHOTO, caption="<tg-spoiler>Кот</tg-spoiler>", parse_mode="HTML")
    assert sent.caption == "Кот"
    assert dumped(sent.caption_entities) == [e("spoiler", 0, 3)]


async def test_parse_mode_wins_over_explicit_entities_and_entities_alone_are_kept(
    standin: BotAPIStandIn, bot: Bot
) -> None:
    standin.user(101, "Alice")
    bold = [MessageEntity(type="bold", offset=0, length=2)]
    parsed = await bot.send_message(101, "<i>hi</i>", parse_mode="HTML", entities=bold)
    assert dumped(parsed.entities) == [e("italic", 0, 2)]
    explicit = await bot.send_message(101, "<i>hi</i>", entities=bold)
    assert (explicit.text, dumped(explicit.entities)) == ("<i>hi</i>", [e("bold", 0, 2)])


async def test_changing_only_the_formatting_is_an_edit(standin: BotAPIStandIn, bot: Bot) -> None:
    alice = standin.user(101, "Alice")
    sent = await bot.send_message(101, "<b>step</b>", parse_mode="HTML")
    edited = await bot.edit_message_text("<i>step</i>", chat_id=101, message_id=sent.message_id, parse_mode="HTML")
    assert not isinstance(edited, bool) and dumped(edited.entities) == [e("italic", 0, 4)]
    assert alice.messages[0].entities == [e("italic", 0, 4)]
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("<em>step</em>", chat_id=101, message_id=sent.message_id, parse_mode="HTML")


async def test_text_limit_counts_utf16_code_units_after_parsing(standin: BotAPIStandIn, bot: Bot) -> None:
    standin.user(101, "Alice")
    await bot.send_message(101, f"<b>{'a' * 4096}</b>", parse_mode="HTML")  # tags do not count
    await bot.send_message(101, "&lt;" * 4096, parse_mode="HTML")  # an entity is one character
    await bot.send_message(101, "😀" * 2048, parse_mode="HTML")  # 2048 characters, 4096 UTF-16 code units
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is too long"):
        await bot.send_message(101, "😀" * 2048 + "!", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is too long"):
        await bot.send_message(101, "😀" * 2049)


async def test_caption_limit_counts_utf16_code_units_after_parsing(standin: BotAPIStandIn, bot: Bot) -> None:
    standin.user(101, "Alice")
    await bot.send_photo(101, PHOTO, caption=f"<i>{'ж' * 1024}</i>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="Bad Request: message caption is too long"):
        await bot.send_photo(101, PHOTO, caption="👍" * 513, parse_mode="HTML")


async def test_text_empty_after_parsing_is_refused(standin: BotAPIStandIn, bot: Bot) -> None:
    alice = standin.user(101, "Alice")
    with pytest.raises(TelegramBadRequest, match="Bad Request: text must be non-empty"):
        await bot.send_message(101, "<b> </b>\n", parse_mode="HTML")
    assert alice.messages == []

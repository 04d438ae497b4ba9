import asyncio
import time

import aiohttp
import pytest
from aiogram import Bot, F, Router
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
)
from aiohttp import web

from bot.standin import BotAPIStandIn


def keyboard(*labels: str) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(text=label, callback_data=f"cb:{label}") for label in labels]
    return InlineKeyboardMarkup(inline_keyboard=[buttons])


def echo_router() -> Router:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("Привет! Выбери урок", reply_markup=keyboard("Lesson 1", "Lesson 2"))

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")

    @router.callback_query(F.data.startswith("cb:"))
    async def pressed(query: CallbackQuery) -> None:
        await query.answer(f"opened {query.data[3:]}")
        assert isinstance(query.message, Message)
        await query.message.edit_text(f"You chose {query.data[3:]}", reply_markup=keyboard("Done"))

    return router


async def test_echo_through_real_dispatcher(standin: BotAPIStandIn, run_bot) -> None:
    await run_bot(echo_router())
    alice = standin.user(101, "Alice")
    await alice.send("hello")
    assert alice.last is not None and alice.last.text == "echo: hello"
    await alice.send("/start")
    reply = await alice.expect(contains="Привет")
    assert reply.buttons == [["Lesson 1", "Lesson 2"]]
    assert standin.calls_to("sendmessage")[-1].params["chat_id"] == 101
    assert standin.calls_to("sendMessage")[-1].params["reply_markup"]["inline_keyboard"][0][0]["text"] == "Lesson 1"


async def test_button_press_reaches_callback_handler(standin: BotAPIStandIn, run_bot) -> None:
    await run_bot(echo_router())
    alice = standin.user(101, "Alice")
    await alice.send("/start")
    assert await alice.click("Lesson 2") == "opened Lesson 2"
    menu = alice.messages[-1]
    assert menu.text == "You chose Lesson 2" and menu.buttons == [["Done"]]
    assert [e.text for e in menu.edits] == ["You chose Lesson 2"]
    answer = standin.callback_answers[standin.calls_to("answerCallbackQuery")[0].params["callback_query_id"]]
    assert answer.text == "opened Lesson 2" and not answer.show_alert
    assert await alice.click("Don") == "opened Done"  # unique substring match
    with pytest.raises(LookupError, match="no button"):
        await alice.click("Lesson 1")  # the edit replaced that keyboard
    assert standin.transcript()[:3] == [
        "Alice → /start",
        "bot → Alice: Привет! Выбери урок [Lesson 1] [Lesson 2]",
        "Alice ⟶ presses [Lesson 2]",
    ]
    assert "bot ✎ Alice: You chose Lesson 2 [Done]" in standin.transcript()


async def test_settle_waits_for_slow_handler(standin: BotAPIStandIn, run_bot) -> None:
    router = Router()

    @router.message()
    async def slow(message: Message) -> None:
        await asyncio.sleep(0.3)
        await message.answer("done thinking")

    await run_bot(router)
    bob = standin.user(102, "Bob")
    await bob.send("think")
    assert [m.text for m in bob.new_messages()] == ["done thinking"]


async def test_settle_times_out_without_a_polling_bot() -> None:
    async with BotAPIStandIn(settle_timeout=0.2) as standin:
        alice = standin.user(101, "Alice")
        with pytest.raises(TimeoutError, match="fetch update 1"):
            await alice.send("anyone?")


async def test_injected_429_and_chat_filter(standin: BotAPIStandIn, bot: Bot) -> None:
    standin.user(101, "Alice")
    standin.user(102, "Bob")
    standin.fail_next("sendMessage", retry_after=7, chat_id=102, times=2)
    await bot.send_message(101, "not affected")
    for _ in range(2):
        with pytest.raises(TelegramRetryAfter) as info:
            await bot.send_message(102, "hi")
        assert info.value.retry_after == 7
    await bot.send_message(102, "third time works")
    assert [c.status for c in standin.calls_to("sendMessage")] == [200, 429, 429, 200]
    assert standin.calls[-2].response["description"] == "Too Many Requests: retry after 7"


async def test_blocked_user_and_unknown_chat(standin: BotAPIStandIn, bot: Bot) -> None:
    standin.user(101, "Alice")
    standin.block(101)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(101, "hi")
    standin.unblock(101)
    await bot.send_message(101, "hi again")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(999, "hello?")


async def test_blocking_the_bot_sends_my_chat_member_to_a_bot_that_asked_for_it(
    standin: BotAPIStandIn, run_bot
) -> None:
    seen: list[tuple[int, str, str]] = []
    router = Router()

    @router.my_chat_member()
    async def member(event: ChatMemberUpdated) -> None:
        seen.append((event.chat.id, event.old_chat_member.status, event.new_chat_member.status))

    await run_bot(router)
    standin.user(101, "Alice")
    standin.block(101)
    assert standin.block(101) is None  # already blocked: Telegram sends nothing new
    await standin.settle()
    standin.unblock(101)
    await standin.settle()
    assert seen == [(101, "member", "kicked"), (101, "kicked", "member")]


async def test_updates_the_bot_did_not_ask_for_are_not_delivered(standin: BotAPIStandIn, run_bot) -> None:
    # polling asks only for the update types its handlers take (allowed_updates): here messages only
    router = Router()
    texts: list[str | None] = []

    @router.message()
    async def echo(message: Message) -> None:
        texts.append(message.text)

    await run_bot(router)
    alice = standin.user(101, "Alice")
    standin.block(101)
    standin.unblock(101)
    await alice.send("still here")
    assert texts == ["still here"]
    assert standin.calls_to("getUpdates")[-1].params["allowed_updates"] == ["message"]
    batches = [call.response["result"] for call in standin.calls_to("getUpdates")]
    delivered = [next(iter(update.keys() - {"update_id"})) for batch in batches for update in batch]
    assert delivered == ["message"]


async def test_a_deleted_account_is_refused_without_an_update(standin: BotAPIStandIn, bot: Bot) -> None:
    standin.user(101, "Alice")
    standin.deactivate(101)
    with pytest.raises(TelegramForbiddenError, match="user is deactivated"):
        await bot.send_message(101, "hi")


async def test_rate_limit_per_chat(standin: BotAPIStandIn, bot: Bot) -> None:
    standin.user(101, "Alice")
    standin.rate_limit(per_chat_per_second=2)
    await bot.send_message(101, "1")
    await bot.send_message(101, "2")
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(101, "3")
    assert info.value.retry_after == 1
    assert len(standin.send_times(101)) == 2


async def test_photo_upload_is_multipart_and_downloadable(standin: BotAPIStandIn, bot: Bot) -> None:
    alice = standin.user(101, "Alice")
    photo = BufferedInputFile(b"\x89PNG fake", filename="cat.png")
    sent = await bot.send_photo(101, photo, caption="<b>Cat</b>", parse_mode="HTML")
    call = standin.calls_to("sendPhoto")[0]
    assert list(call.files.values()) == [b"\x89PNG fake"]
    assert call.params["photo"].startswith("attach://")
    stored = alice.last
    assert stored is not None and stored.media_kind == "photo" and stored.text == "Cat"
    assert stored.sent_text == "<b>Cat</b>" and stored.parse_mode == "HTML"
    assert sent.photo is not None
    downloaded = await bot.download(sent.photo[-1].file_id)
    assert downloaded is not None and downloaded.read() == b"\x89PNG fake"
    again = await bot.send_photo(101, sent.photo[-1].file_id)  # resend by file_id
    assert again.photo is not None and again.photo[0].file_id == sent.photo[0].file_id


async def test_user_photo_reaches_handler(standin: BotAPIStandIn, run_bot, bot: Bot) -> None:
    router = Router()

    @router.message(F.photo)
    async def got_photo(message: Message) -> None:
        assert message.photo is not None
        data = await bot.download(message.photo[-1].file_id)
        assert data is not None
        await message.answer(f"got {len(data.read())} bytes")

    await run_bot(router)
    alice = standin.user(101, "Alice")
    await alice.send_photo(b"12345")
    assert (await alice.expect("got")).text == "got 5 bytes"


async def test_media_group_returns_messages(standin: BotAPIStandIn, bot: Bot) -> None:
    standin.user(101, "Alice")
    media = [
        InputMediaPhoto(media=BufferedInputFile(b"one", "1.jpg"), caption="first"),
        InputMediaPhoto(media=BufferedInputFile(b"two", "2.jpg")),
    ]
    messages = await bot.send_media_group(101, media)
    assert [m.caption for m in messages] == ["first", None]
    assert messages[0].media_group_id == messages[1].media_group_id is not None
    assert sorted(standin.calls_to("sendMediaGroup")[0].files.values()) == [b"one", b"two"]


async def test_forum_topics(standin: BotAPIStandIn, bot: Bot) -> None:
    standin.group(-1001, "Course forum", is_forum=True)
    standin.group(-1002, "Plain group")
    topic = await bot.create_forum_topic(-1001, "Alice · questions")
    message = await bot.send_message(-1001, "welcome", message_thread_id=topic.message_thread_id)
    assert message.message_thread_id == topic.message_thread_id
    assert message.message_id > topic.message_thread_id
    assert standin.transcript()[-1] == "bot → Course forum › Alice · questions: welcome"
    with pytest.raises(TelegramBadRequest, match="the chat is not a forum"):
        await bot.create_forum_topic(-1002, "nope")
    await bot.close_forum_topic(-1001, topic.message_thread_id)
    with pytest.raises(TelegramBadRequest, match="TOPIC_CLOSED"):
        await bot.send_message(-1001, "late", message_thread_id=topic.message_thread_id)


async def test_group_membership_and_invite_links(standin: BotAPIStandIn, bot: Bot) -> None:
    standin.user(101, "Alice")
    standin.group(-1001, "Cohort", members={101: "member", 103: "creator"})
    assert (await bot.get_chat_member(-1001, 101)).status == "member"
    assert (await bot.get_chat_member(-1001, 102)).status == "left"
    admins = await bot.get_chat_administrators(-1001)
    assert {a.user.id for a in admins} == {103, standin.bot_user["id"]}
    link = await bot.create_chat_invite_link(-1001, name="Alice", member_limit=1)
    assert link.invite_link.startswith("https://t.me/+") and link.member_limit == 1
    chat = await bot.get_chat(-1001)
    assert chat.title == "Cohort"


async def test_edits_and_deletes_follow_telegram_rules(standin: BotAPIStandIn, bot: Bot) -> None:
    alice = standin.user(101, "Alice")
    sent = await bot.send_message(101, "menu", reply_markup=keyboard("A"))
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("menu", chat_id=101, message_id=sent.message_id, reply_markup=keyboard("A"))
    await bot.edit_message_reply_markup(chat_id=101, message_id=sent.message_id, reply_markup=None)
    assert alice.messages[0].buttons == []
    assert await bot.delete_message(101, sent.message_id)
    assert alice.messages == []
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(101, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="Unsupported start tag"):
        await bot.send_message(101, "line<br>break", parse_mode="HTML")
    original = await bot.send_message(101, "lesson text")
    copied = await bot.copy_message(101, from_chat_id=101, message_id=original.message_id)
    assert copied.message_id == original.message_id + 1
    assert [m.text for m in alice.messages] == ["lesson text", "lesson text"]


async def test_webhook_mode_posts_updates_with_secret(standin: BotAPIStandIn, bot: Bot) -> None:
    received: list[tuple[str | None, dict]] = []

    async def receive(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        alice = standin.user(101, "Alice")
        await alice.send("via webhook")
        assert received[0][0] == "s3cret"
        assert received[0][1]["message"]["text"] == "via webhook"
        assert (await bot.get_webhook_info()).pending_update_count == 0
        with pytest.raises(TelegramConflictError):
            await bot.get_updates()
        await bot.delete_webhook()
        standin.push_message(alice, 101, "queued for polling")
        assert [u.message.text for u in await bot.get_updates() if u.message] == ["queued for polling"]
    finally:
        await runner.cleanup()


async def test_long_poll_returns_early_and_honours_offset(standin: BotAPIStandIn, bot: Bot) -> None:
    alice = standin.user(101, "Alice")
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    standin.push_message(alice, 101, "wake up")
    updates = await poll
    assert time.monotonic() - started < 2 and len(updates) == 1
    standin.push_message(alice, 101, "second")
    again = await bot.get_updates(offset=updates[0].update_id + 1, timeout=0)
    assert [u.message.text for u in again if u.message] == ["second"]
    await bot.get_updates(offset=again[-1].update_id + 1, timeout=0)
    await standin.settle(timeout=0.1)


async def test_raw_http_details(standin: BotAPIStandIn) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{standin.base_url}/bot1:x/noSuchMethod") as resp:
            assert resp.status == 404
            assert await resp.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }
        async with http.get(f"{standin.base_url}/bot1:x/GETME") as resp:
            assert (await resp.json())["result"]["username"] == "journeybot_demo_bot"
        async with http.post(f"{standin.base_url}/botbad/getMe") as resp:
            assert resp.status == 401


async def test_on_event_sees_transcript_live(standin: BotAPIStandIn, bot: Bot) -> None:
    seen: list[str] = []
    standin.on_event(seen.append)
    standin.user(101, "Alice")
    await bot.send_message(101, "two\nlines")
    assert seen == ["bot → Alice: two\n    lines"] == standin.transcript()

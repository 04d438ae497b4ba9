"""Invite links and join requests in the stand-in, through aiogram's real session: the links' fields and rules,
people opening them, the updates that causes (parsed by aiogram) and the bot answering join requests."""

from datetime import UTC, datetime

import pytest
from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import ChatJoinRequest, ChatMemberUpdated, Message

from bot.standin import BotAPIStandIn, JoinResult
from tests.standin.world import CLUB, OWNER, TelegramClock, club

MONTH = 2592000


def kinds(updates: list) -> list[str]:
    return [next(iter(u.model_dump(exclude_none=True).keys() - {"update_id"})) for u in updates]


async def test_a_link_has_the_fields_telegram_gives(standin: BotAPIStandIn, bot: Bot, clock: TelegramClock) -> None:
    club(standin)
    expires = int(clock.now) + 86400
    link = await bot.create_chat_invite_link(CLUB, name="Alice · June", expire_date=expires, member_limit=1)
    assert link.invite_link.startswith("https://t.me/+") and link.creator.id == standin.bot_user["id"]
    assert (link.name, link.member_limit, link.expire_date) == ("Alice · June", 1, datetime.fromtimestamp(expires, UTC))
    assert not (link.creates_join_request or link.is_primary or link.is_revoked)
    raw = standin.calls_to("createChatInviteLink")[-1].response["result"]
    assert {"pending_join_request_count", "subscription_period", "subscription_price"}.isdisjoint(raw)
    # Telegram does not refuse a long name: it keeps 32 characters, then collapses their runs of spaces
    long = await bot.create_chat_invite_link(CLUB, name="  Club   access\nfor " + "x" * 40)
    assert long.name == "Club access for " + "x" * 14
    plain = await bot.create_chat_invite_link(CLUB)
    assert (plain.name, plain.expire_date, plain.member_limit) == (None, None, None)


@pytest.mark.parametrize(
    ("terms", "error"),
    [
        ({"member_limit": 5, "creates_join_request": True}, "member limit can't be specified for links requiring"),
        ({"expire_date": -3600}, "EXPIRE_DATE_INVALID"),  # relative to now; see the test body
        ({"member_limit": 100000}, "USAGE_LIMIT_INVALID"),
    ],
)
async def test_bad_link_terms_are_refused(
    standin: BotAPIStandIn, bot: Bot, clock: TelegramClock, terms: dict, error: str
) -> None:
    club(standin)
    if "expire_date" in terms:
        terms = {"expire_date": int(clock.now) + terms["expire_date"]}
    with pytest.raises(TelegramBadRequest, match=error):
        await bot.create_chat_invite_link(CLUB, **terms)
    assert standin.links == {}


async def test_editing_a_link_replaces_all_its_terms(standin: BotAPIStandIn, bot: Bot, clock: TelegramClock) -> None:
    club(standin)
    link = await bot.create_chat_invite_link(CLUB, name="May", expire_date=int(clock.now) + 60, member_limit=3)
    edited = await bot.edit_chat_invite_link(CLUB, link.invite_link, creates_join_request=True)
    # the Bot API sends every term, so those left out are cleared
    assert edited.invite_link == link.invite_link and edited.creates_join_request
    assert (edited.name, edited.expire_date, edited.member_limit) == (None, None, None)
    with pytest.raises(TelegramBadRequest, match="member limit can't be specified"):
        await bot.edit_chat_invite_link(CLUB, link.invite_link, member_limit=2, creates_join_request=True)
    with pytest.raises(TelegramBadRequest, match="INVITE_HASH_EXPIRED"):
        await bot.edit_chat_invite_link(CLUB, "https://t.me/+NoSuchLink", name="x")


async def test_a_revoked_link_is_returned_revoked_and_admits_nobody(standin: BotAPIStandIn, bot: Bot) -> None:
    club(standin)
    alice = standin.user(101, "Alice")
    link = await bot.create_chat_invite_link(CLUB, name="Alice")
    revoked = await bot.revoke_chat_invite_link(CLUB, link.invite_link)
    assert revoked.invite_link == link.invite_link and revoked.is_revoked and revoked.name == "Alice"
    assert standin.open_invite(alice, link.invite_link) is JoinResult.REVOKED
    assert (await bot.get_chat_member(CLUB, 101)).status == "left"
    with pytest.raises(TelegramBadRequest, match="INVITE_HASH_EXPIRED"):
        await bot.edit_chat_invite_link(CLUB, link.invite_link, name="again")
    assert "Alice ⟶ opens invite link «Alice» to Graduate club: link revoked" in standin.transcript()
    assert standin.open_invite(alice, "https://t.me/+NoSuchLink") is JoinResult.UNKNOWN


async def test_exporting_makes_a_new_primary_link_and_revokes_the_old(standin: BotAPIStandIn, bot: Bot) -> None:
    club(standin)
    first = await bot.export_chat_invite_link(CLUB)
    second = await bot.export_chat_invite_link(CLUB)
    assert first != second and standin.links[first].is_revoked and standin.links[first].is_primary
    assert standin.links[second].is_primary and not standin.links[second].is_revoked
    revoked = await bot.revoke_chat_invite_link(CLUB, second)
    assert revoked.is_primary and revoked.is_revoked
    primary = [link for link in standin.links.values() if link.is_primary and not link.is_revoked]
    assert len(primary) == 1  # revoking the primary link makes a new one


async def test_subscription_links_are_for_channels_for_thirty_days_and_1_to_10000_stars(
    standin: BotAPIStandIn, bot: Bot
) -> None:
    club(standin)
    standin.group(-1005555, "Paid channel", channel=True, members={OWNER: "creator"})
    link = await bot.create_chat_subscription_invite_link(-1005555, MONTH, 250, name="Monthly")
    assert (link.subscription_period, link.subscription_price, link.name) == (MONTH, 250, "Monthly")
    assert not link.creates_join_request and link.member_limit is None
    renamed = await bot.edit_chat_subscription_invite_link(-1005555, link.invite_link, name="Month")
    assert (renamed.name, renamed.subscription_price) == ("Month", 250)
    refusals = [
        (-1005555, 86400, 250, "SUBSCRIPTION_PERIOD_INVALID"),
        (-1005555, MONTH, 0, "invalid subscription pricing specified"),
        (-1005555, MONTH, 10001, "PRICING_CHAT_INVALID"),
        (CLUB, MONTH, 250, "PRICING_CHAT_INVALID"),  # a supergroup has no subscription links
    ]
    for chat_id, period, price, error in refusals:
        with pytest.raises(TelegramBadRequest, match=error):
            await bot.create_chat_subscription_invite_link(chat_id, period, price)
    alice = standin.user(101, "Alice")
    assert standin.open_invite(alice, link.invite_link) is JoinResult.JOINED
    assert (await bot.get_chat_member(-1005555, 101)).status == "member"
    updates = await bot.get_updates(allowed_updates=["chat_member", "message"], timeout=0)
    assert kinds(updates) == ["chat_member"]  # a channel shows no "joined" service message


def club_router(seen: list, *, approve: bool | None = None) -> Router:
    """A bot that records join requests, member changes and group messages, and approves or declines requests."""
    router = Router()

    @router.chat_join_request()
    async def requested(request: ChatJoinRequest) -> None:
        seen.append(request)
        if approve is True:
            await request.approve()
        elif approve is False:
            await request.decline()

    @router.chat_member()
    async def member(update: ChatMemberUpdated) -> None:
        seen.append(update)

    @router.message()
    async def message(message: Message) -> None:
        seen.append(message)

    return router


async def request_link(bot: Bot, name: str = "Club") -> str:
    return (await bot.create_chat_invite_link(CLUB, name=name, creates_join_request=True)).invite_link


async def test_a_join_request_reaches_the_bot_as_telegram_sends_it(standin: BotAPIStandIn, bot: Bot, run_bot) -> None:
    seen: list = []
    await run_bot(club_router(seen))
    club(standin)
    alice = standin.user(101, "Alice", username="alice")
    link = await request_link(bot, "Club · Alice")
    assert await alice.open_invite(link, bio="Finished the course") is JoinResult.REQUESTED
    [request] = seen
    assert isinstance(request, ChatJoinRequest)
    assert (request.chat.id, request.chat.type, request.from_user.id, request.user_chat_id) == (
        CLUB,
        "supergroup",
        101,
        101,
    )
    assert request.bio == "Finished the course" and request.date.timestamp() == int(standin.now())
    assert request.invite_link is not None and request.invite_link.invite_link == link
    assert request.invite_link.creates_join_request and request.invite_link.pending_join_request_count == 1
    assert request.invite_link.name == "Club · Alice"
    assert await alice.open_invite(link) is JoinResult.REQUESTED  # still pending: no second update
    assert len(seen) == 1 and (CLUB, 101) in standin.join_requests
    assert "Alice ⟶ opens invite link «Club · Alice» to Graduate club: requested" in standin.transcript()


async def test_an_approved_request_makes_a_member_and_tells_a_bot_that_asked(
    standin: BotAPIStandIn, bot: Bot, run_bot
) -> None:
    seen: list = []
    await run_bot(club_router(seen, approve=True))
    club(standin)
    alice = standin.user(101, "Alice")
    link = await request_link(bot)
    await alice.open_invite(link)
    await standin.wait_for(lambda: len(seen) == 3, what="the request, the member change and the service message")
    request, joined, service = seen
    assert isinstance(request, ChatJoinRequest) and (await bot.get_chat_member(CLUB, 101)).status == "member"
    assert isinstance(joined, ChatMemberUpdated) and joined.from_user.id == standin.bot_user["id"]
    assert (joined.old_chat_member.status, joined.new_chat_member.status) == ("left", "member")
    assert joined.invite_link is not None and joined.invite_link.invite_link == link and not joined.via_join_request
    assert isinstance(service, Message) and service.chat.id == CLUB and service.from_user.id == 101
    assert [u.id for u in service.new_chat_members or []] == [101]
    assert CLUB not in {chat for chat, _ in standin.join_requests}
    with pytest.raises(TelegramBadRequest, match="USER_ALREADY_PARTICIPANT"):
        await bot.approve_chat_join_request(CLUB, 101)
    with pytest.raises(TelegramBadRequest, match="HIDE_REQUESTER_MISSING"):
        await bot.decline_chat_join_request(CLUB, 101)
    assert await alice.open_invite(link) is JoinResult.ALREADY_MEMBER
    assert "bot ✓ approves Alice @ Graduate club" in standin.transcript()


async def test_a_declined_request_is_gone_and_the_person_stays_out(standin: BotAPIStandIn, bot: Bot, run_bot) -> None:
    seen: list = []
    await run_bot(club_router(seen, approve=False))
    club(standin)
    bob = standin.user(102, "Bob")
    await bob.open_invite(await request_link(bot))
    await standin.wait_for(lambda: standin.calls_to("declineChatJoinRequest"), what="the bot to decline")
    assert standin.calls_to("declineChatJoinRequest")[0].status == 200
    assert (await bot.get_chat_member(CLUB, 102)).status == "left" and standin.join_requests == {}
    for answer in (bot.approve_chat_join_request, bot.decline_chat_join_request):
        with pytest.raises(TelegramBadRequest, match="HIDE_REQUESTER_MISSING"):
            await answer(CLUB, 102)
    with pytest.raises(TelegramBadRequest, match="HIDE_REQUESTER_MISSING"):
        await bot.approve_chat_join_request(CLUB, 999)  # never asked


async def test_a_link_that_reached_someone_else_still_brings_their_request(
    standin: BotAPIStandIn, bot: Bot, run_bot
) -> None:
    seen: list = []
    await run_bot(club_router(seen))
    club(standin)
    standin.user(101, "Alice")
    mallory = standin.user(666, "Mallory")
    alices = await request_link(bot, "club:alice")
    await mallory.open_invite(alices)  # Telegram does not know whom the link was meant for: the bot decides
    [request] = seen
    assert request.from_user.id == 666 and request.invite_link.name == "club:alice"


async def test_the_bot_may_write_to_a_requester_for_five_minutes_until_it_answers(
    standin: BotAPIStandIn, bot: Bot, clock: TelegramClock
) -> None:
    club(standin)
    carol = standin.user(103, "Carol", started=False)
    with pytest.raises(TelegramForbiddenError, match="bot can't initiate conversation with a user"):
        await bot.send_message(103, "hello")
    link = await request_link(bot)
    assert standin.open_invite(carol, link) is JoinResult.REQUESTED
    await bot.send_message(103, "You need an active access to join; here is how to get it")
    clock.advance(301)
    with pytest.raises(TelegramForbiddenError, match="can't initiate conversation"):
        await bot.send_message(103, "too late")
    assert await bot.decline_chat_join_request(CLUB, 103)  # a stale request can still be answered
    standin.open_invite(carol, link)
    assert await bot.approve_chat_join_request(CLUB, 103)
    with pytest.raises(TelegramForbiddenError, match="can't initiate conversation"):
        await bot.send_message(103, "answered: the window is closed")
    standin.push_message(carol, 103, "/start")  # once she writes to the bot, it may answer any time
    await bot.send_message(103, "welcome")
    assert [m.text for m in carol.messages] == ["You need an active access to join; here is how to get it", "welcome"]


async def test_a_plain_link_makes_a_member_and_chat_member_comes_only_when_asked(
    standin: BotAPIStandIn, bot: Bot
) -> None:
    club(standin)
    alice, bob = standin.user(101, "Alice"), standin.user(102, "Bob")
    link = (await bot.create_chat_invite_link(CLUB, name="open")).invite_link
    assert standin.open_invite(alice, link) is JoinResult.JOINED
    first = await bot.get_updates(timeout=0)  # Telegram's default leaves chat_member out
    assert kinds(first) == ["message"] and first[0].message.new_chat_members[0].id == 101
    offset = first[-1].update_id + 1
    await bot.get_updates(offset=offset, allowed_updates=["message", "chat_member"], timeout=0)
    assert standin.open_invite(bob, link) is JoinResult.JOINED
    second = await bot.get_updates(offset=offset, timeout=0)  # allowed_updates is kept until changed
    assert kinds(second) == ["chat_member", "message"]
    joined = second[0].chat_member
    assert joined.from_user.id == 102 and joined.invite_link.invite_link == link
    assert (joined.old_chat_member.status, joined.new_chat_member.status) == ("left", "member")
    assert "Bob ⟶ opens invite link «open» to Graduate club: joined" in standin.transcript()


async def test_expired_and_full_links_turn_people_away(standin: BotAPIStandIn, bot: Bot, clock: TelegramClock) -> None:
    club(standin)
    alice, bob, carol = standin.user(101, "Alice"), standin.user(102, "Bob"), standin.user(103, "Carol")
    soon = await bot.create_chat_invite_link(CLUB, expire_date=int(clock.now) + 60)
    clock.advance(60)
    assert standin.open_invite(alice, soon.invite_link) is JoinResult.EXPIRED
    single = (await bot.create_chat_invite_link(CLUB, member_limit=1)).invite_link
    assert standin.open_invite(alice, single) is JoinResult.JOINED
    assert standin.open_invite(bob, single) is JoinResult.FULL
    # the limit counts those who came in by the link and are still members
    await bot.ban_chat_member(CLUB, 101)
    await bot.unban_chat_member(CLUB, 101, only_if_banned=True)
    assert standin.open_invite(bob, single) is JoinResult.JOINED
    assert standin.open_invite(carol, single) is JoinResult.FULL

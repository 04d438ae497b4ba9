"""Membership in the stand-in, through aiogram's real session: getChatMember's shapes, banning and unbanning,
the bot's own rights (each call refused without its right, as Telegram refuses it) and my_chat_member."""

import pytest
from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import (
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberOwner,
    ChatMemberUpdated,
)

from bot.standin import BotAPIStandIn, JoinResult
from tests.standin.world import CLUB, OWNER, TelegramClock, club


async def test_get_chat_member_has_the_shape_of_each_status(standin: BotAPIStandIn, bot: Bot) -> None:
    club(standin, bot_rights={"can_invite_users", "can_restrict_members"})
    standin.user(101, "Alice")
    standin.set_member(CLUB, 101)
    standin.set_member(CLUB, 104, "administrator")
    await bot.ban_chat_member(CLUB, 105)  # someone never in the chat can be banned too
    shapes = {
        OWNER: ChatMemberOwner,
        104: ChatMemberAdministrator,
        101: ChatMemberMember,
        102: ChatMemberLeft,
        105: ChatMemberBanned,
    }
    for user_id, shape in shapes.items():
        assert isinstance(await bot.get_chat_member(CLUB, user_id), shape), user_id
    me = await bot.get_chat_member(CLUB, standin.bot_user["id"])
    assert isinstance(me, ChatMemberAdministrator)
    assert me.can_invite_users and me.can_restrict_members and me.can_manage_chat
    assert not (me.can_delete_messages or me.can_promote_members or me.can_pin_messages)


async def test_ban_then_unban_only_if_banned_lets_a_member_come_back(standin: BotAPIStandIn, bot: Bot) -> None:
    club(standin)
    alice = standin.user(101, "Alice")
    link = (await bot.create_chat_invite_link(CLUB, name="open")).invite_link
    standin.open_invite(alice, link)
    said = standin.push_message(alice, CLUB, "hi all")
    await bot.get_updates(allowed_updates=["message", "chat_member"], timeout=0)
    offset = standin._last_update_id + 1
    assert await bot.ban_chat_member(CLUB, 101, revoke_messages=False)
    banned = await bot.get_chat_member(CLUB, 101)
    assert isinstance(banned, ChatMemberBanned) and banned.until_date.timestamp() == 0  # forever
    assert standin.message(CLUB, said["message_id"]).deleted  # always revoked in a supergroup
    assert standin.open_invite(alice, link) is JoinResult.BANNED
    assert await bot.unban_chat_member(CLUB, 101, only_if_banned=True)
    assert isinstance(await bot.get_chat_member(CLUB, 101), ChatMemberLeft)
    assert standin.open_invite(alice, link) is JoinResult.JOINED
    updates = await bot.get_updates(offset=offset, timeout=0)
    changes = [
        (u.chat_member.old_chat_member.status, u.chat_member.new_chat_member.status) for u in updates if u.chat_member
    ]
    assert changes == [("member", "kicked"), ("kicked", "left"), ("left", "member")]
    removed = next(u.message for u in updates if u.message and u.message.left_chat_member)
    assert removed.left_chat_member.id == 101 and removed.from_user.id == standin.bot_user["id"]
    assert "bot ⛔ Graduate club: bans Alice" in standin.transcript()
    assert "bot ↺ Graduate club: unbans Alice" in standin.transcript()


async def test_unban_only_if_banned_leaves_a_member_in_and_without_it_removes_them(
    standin: BotAPIStandIn, bot: Bot
) -> None:
    club(standin)
    standin.user(101, "Alice")
    standin.set_member(CLUB, 101)
    assert await bot.unban_chat_member(CLUB, 101, only_if_banned=True)
    assert (await bot.get_chat_member(CLUB, 101)).status == "member"
    assert await bot.unban_chat_member(CLUB, 101)  # Telegram's default: afterwards they are not a member
    assert (await bot.get_chat_member(CLUB, 101)).status == "left"
    assert await bot.unban_chat_member(CLUB, 101)  # nothing to change
    standin.group(-5001, "Basic group")
    with pytest.raises(TelegramBadRequest, match="method is available for supergroup and channel chats only"):
        await bot.unban_chat_member(-5001, 101)


async def test_a_ban_for_a_while_lifts_itself_and_a_too_short_or_long_one_is_forever(
    standin: BotAPIStandIn, bot: Bot, clock: TelegramClock
) -> None:
    club(standin)
    for user_id in (101, 102, 103):
        standin.set_member(CLUB, user_id)
    hour = int(clock.now) + 3600
    await bot.ban_chat_member(CLUB, 101, until_date=hour)
    await bot.ban_chat_member(CLUB, 102, until_date=int(clock.now) + 10)
    await bot.ban_chat_member(CLUB, 103, until_date=int(clock.now) + 400 * 86400)
    until = [(await bot.get_chat_member(CLUB, uid)).until_date.timestamp() for uid in (101, 102, 103)]  # type: ignore[union-attr]
    assert until == [hour, 0, 0]
    clock.advance(3600)
    assert [(await bot.get_chat_member(CLUB, uid)).status for uid in (101, 102, 103)] == ["left", "kicked", "kicked"]


async def test_the_owner_an_administrator_and_the_bot_itself_cannot_be_banned(standin: BotAPIStandIn, bot: Bot) -> None:
    club(standin)
    standin.set_member(CLUB, 104, "administrator")
    refusals = {OWNER: "can't remove chat owner", 104: "user is an administrator of the chat"}
    refusals[standin.bot_user["id"]] = "can't restrict self"
    for user_id, error in refusals.items():
        with pytest.raises(TelegramBadRequest, match=error):
            await bot.ban_chat_member(CLUB, user_id)
    assert (await bot.get_chat_member(CLUB, OWNER)).status == "creator"


def calls_needing(right: str, bot: Bot, link: str) -> list:
    """Each call that needs `right`, as a factory (so each is made fresh), with the refusal Telegram gives."""
    if right == "can_invite_users":
        links = "not enough rights to manage chat invite link"
        requests = "not enough rights to manage chat join requests"
        return [
            (lambda: bot.create_chat_invite_link(CLUB), links),
            (lambda: bot.export_chat_invite_link(CLUB), links),
            (lambda: bot.edit_chat_invite_link(CLUB, link, name="x"), links),
            (lambda: bot.revoke_chat_invite_link(CLUB, link), links),
            (lambda: bot.approve_chat_join_request(CLUB, 101), requests),
            (lambda: bot.decline_chat_join_request(CLUB, 101), requests),
        ]
    restrict = "not enough rights to restrict/unrestrict chat member"
    return [(lambda: bot.ban_chat_member(CLUB, 101), restrict), (lambda: bot.unban_chat_member(CLUB, 101), restrict)]


@pytest.mark.parametrize("right", ["can_invite_users", "can_restrict_members"])
@pytest.mark.parametrize("bot_as", ["member", "administrator"])
async def test_each_call_needs_its_right(standin: BotAPIStandIn, bot: Bot, right: str, bot_as: str) -> None:
    club(standin)
    standin.user(101, "Alice")
    standin.set_member(CLUB, 101)
    link = await bot.create_chat_invite_link(CLUB, creates_join_request=True)
    standin.open_invite(standin.user(102, "Bob"), link.invite_link)
    others = {"can_invite_users", "can_restrict_members", "can_delete_messages"} - {right}
    standin.set_bot_status(CLUB, bot_as, others if bot_as == "administrator" else None)
    for call, error in calls_needing(right, bot, link.invite_link):
        with pytest.raises(TelegramBadRequest, match=error):
            await call()
    assert (await bot.get_chat_member(CLUB, 101)).status == "member" and not standin.links[link.invite_link].is_revoked
    standin.set_bot_status(CLUB, "administrator", {right})
    for call, _ in calls_needing(right, bot, link.invite_link)[:1]:
        await call()  # the right alone is enough


async def test_the_bot_hears_of_its_rights_changing_and_fails_once_removed(
    standin: BotAPIStandIn, bot: Bot, run_bot
) -> None:
    seen: list[ChatMemberUpdated] = []
    router = Router()

    @router.my_chat_member()
    async def changed(update: ChatMemberUpdated) -> None:
        seen.append(update)

    await run_bot(router)
    club(standin)
    standin.set_bot_status(CLUB, "administrator", {"can_invite_users"})
    assert standin.set_bot_status(CLUB, "administrator", {"can_invite_users"}) is None  # no change, no update
    standin.set_bot_status(CLUB, "member")
    await standin.settle()
    assert [u.new_chat_member.status for u in seen] == ["administrator", "member"]
    first = seen[0]
    assert first.chat.id == CLUB and first.from_user.id == OWNER and first.old_chat_member.status == "administrator"
    assert isinstance(first.new_chat_member, ChatMemberAdministrator)
    assert first.new_chat_member.can_invite_users and not first.new_chat_member.can_restrict_members
    assert {a.user.id for a in await bot.get_chat_administrators(CLUB)} == {OWNER}  # a member is no administrator
    assert "Graduate club: the bot is now member" in standin.transcript()
    standin.set_bot_status(CLUB, "left")
    with pytest.raises(TelegramForbiddenError, match="bot is not a member of the supergroup chat"):
        await bot.create_chat_invite_link(CLUB)
    standin.set_bot_status(CLUB, "kicked")
    with pytest.raises(TelegramForbiddenError, match="bot was kicked from the supergroup chat"):
        await bot.send_message(CLUB, "hello?")
    await standin.settle()
    assert [u.new_chat_member.status for u in seen][2:] == ["left", "kicked"]


async def test_private_and_unknown_chats_are_refused_as_telegram_refuses_them(standin: BotAPIStandIn, bot: Bot) -> None:
    standin.user(101, "Alice")
    private = [
        (bot.create_chat_invite_link(101), "can't invite members to a private chat"),
        (bot.export_chat_invite_link(101), "can't invite members to a private chat"),
        (bot.approve_chat_join_request(101, 101), "the chat can't have join requests"),
        (bot.ban_chat_member(101, 101), "can't ban members in private chats"),
        (bot.unban_chat_member(101, 101), "method is available for supergroup and channel chats only"),
    ]
    for call, error in private:
        with pytest.raises(TelegramBadRequest, match=error):
            await call
    unknown = [
        bot.create_chat_invite_link(-100999),
        bot.revoke_chat_invite_link(-100999, "https://t.me/+x"),
        bot.decline_chat_join_request(-100999, 101),
        bot.ban_chat_member(-100999, 101),
        bot.get_chat_member(-100999, 101),
    ]
    for call in unknown:
        with pytest.raises(TelegramBadRequest, match="chat not found"):
            await call

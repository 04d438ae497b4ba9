"""/staff: admins manage the team in the bot. Every change is written to the audit log."""

from html import escape
from typing import Final, Literal

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageOriginUser

from bot.callbacks import UserId
from bot.db.models import Role
from bot.db.uow import UnitOfWorkFactory
from bot.filters import StaffOnly, refuse
from bot.i18n import Translator
from bot.names import fit, parse_id
from bot.render import N_
from bot.services.staff import Permission, StaffDirectory, StaffError
from journeys.clock import Clock

ROLE_NAMES = {Role.ADMIN: N_("admin"), Role.CARE: N_("care team"), Role.CURATOR: N_("curator")}


REMOVE: Final = "-"  # the "Remove from staff" button's role: short, and never a Role's value


class SetRole(CallbackData, prefix="sr"):
    """A role button under "Role for …": the packed values (sr:ID:care, sr:ID:-) are those of buttons already sent."""

    user: UserId
    role: Role | Literal["-"]


def role_keyboard(user_id: int, t: Translator) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(text=t(ROLE_NAMES[role]), callback_data=SetRole(user=user_id, role=role).pack())
        for role in Role
    ]
    remove = InlineKeyboardButton(text=t("Remove from staff"), callback_data=SetRole(user=user_id, role=REMOVE).pack())
    return InlineKeyboardMarkup(inline_keyboard=[buttons, [remove]])


async def _listing(uow_factory: UnitOfWorkFactory, staff: StaffDirectory, t: Translator) -> str:
    async with uow_factory() as uow:
        members = await uow.staff.all()
    lines = [t("<b>Staff</b>")]
    lines += [f"• {admin_id} — {t('admin')} (ADMIN_IDS)" for admin_id in sorted(staff.admin_ids)]
    lines += [f"• {escape(m.name or '—')} ({m.telegram_id}) — {t(ROLE_NAMES[m.role])}" for m in members]
    lines += [
        "",
        t("Add or change: /staff add ID ROLE (admin, care, curator), or forward me a message from the person."),
        t("Remove: /staff remove ID"),
    ]
    return "\n".join(lines)


async def show_staff(
    message: Message,
    command: CommandObject,
    staff: StaffDirectory,
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    t: Translator,
) -> None:
    assert message.from_user is not None
    actor = message.from_user.id
    words = (command.args or "").split()
    if not words:
        await message.answer(await _listing(uow_factory, staff, t))
        return
    verb, *rest = words
    usage = t("Use: /staff add ID ROLE, /staff remove ID. Roles: admin, care, curator.")
    user = parse_id(rest[0]) if rest else None
    if verb in ("add", "role", "remove") and rest and user is None:
        given = escape(fit(rest[0], 32))
        problem = t("{given} is not a Telegram user id: an id is a number like 123456789.", given=given)
        await message.answer(f"{problem}\n{usage}")
        return
    try:
        if verb in ("add", "role") and user is not None and len(rest) == 2 and rest[1] in {r.value for r in Role}:
            await _set(uow_factory, staff, clock, user, Role(rest[1]), actor)
            await message.answer(t("Done: {user} is now {role}.", user=user, role=t(ROLE_NAMES[Role(rest[1])])))
        elif verb == "remove" and user is not None and len(rest) == 1:
            removed = await _set(uow_factory, staff, clock, user, None, actor)
            await message.answer(t("Removed.") if removed else t("There is no such staff member."))
        else:
            await message.answer(usage)
    except StaffError as exc:
        await message.answer(t("Cannot do that: {reason}", reason=escape(str(exc))))


async def _set(
    uow_factory: UnitOfWorkFactory, staff: StaffDirectory, clock: Clock, user: int, role: Role | None, actor: int
) -> bool:
    """Gives `user` the role, or with None takes them off the staff; False when there was no one to remove."""
    async with uow_factory() as uow:
        now = clock.now()
        if role is None:
            changed = await staff.remove(uow, user, actor_id=actor, now=now)
        else:
            await staff.set_role(uow, user, role, actor_id=actor, now=now)
            changed = True
        await uow.commit()
        return changed


async def forwarded_person(message: Message, t: Translator) -> None:
    origin = message.forward_origin
    if not isinstance(origin, MessageOriginUser):
        await message.answer(t("This person hides their account in forwards. Use /staff add ID ROLE instead."))
        return
    person = origin.sender_user
    await message.answer(
        t("Role for {name} ({id}):", name=escape(person.full_name), id=person.id),
        reply_markup=role_keyboard(person.id, t),
    )


async def press_role(
    query: CallbackQuery,
    callback_data: SetRole,
    staff: StaffDirectory,
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    t: Translator,
) -> None:
    actor = query.from_user.id
    role = None if callback_data.role == REMOVE else callback_data.role
    try:
        await _set(uow_factory, staff, clock, callback_data.user, role, actor)
    except StaffError as exc:
        await query.answer(str(exc), show_alert=True)
        return
    await query.answer(t("Saved."))
    if isinstance(query.message, Message):
        await query.message.edit_text(await _listing(uow_factory, staff, t))


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    admins = StaffOnly(Permission.MANAGE_STAFF)
    router.message.register(show_staff, Command("staff"), admins)
    router.message.register(refuse(N_("Not allowed: only admins manage the staff.")), Command("staff"))
    # anyone else's forward is an ordinary message: the student routers answer it
    router.message.register(forwarded_person, F.forward_origin, admins)
    router.callback_query.register(press_role, SetRole.filter(), admins)
    router.callback_query.register(refuse(N_("Not allowed."), show_alert=True), SetRole.filter())
    return router

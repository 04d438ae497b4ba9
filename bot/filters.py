"""Who may use a staff handler: one filter for every staff-only command and button, and the answer for the rest.

StaffOnly passes an update whose sender has the permission (ADMIN_IDS, or a role given with /staff);
CuratorOnly passes a press on the curator group's buttons by a curator (bot/curator/permissions.py). Anyone
else's update goes on to the next handler: `refuse(...)` registered right after it where staff need a
"not allowed", or on to the student routers where the update may be theirs (a forward, a plain message).
"""

from collections.abc import Awaitable, Callable

from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message

from bot.curator.desk import CuratorDesk
from bot.db.uow import UnitOfWorkFactory
from bot.i18n import Translator
from bot.services.staff import Permission, StaffDirectory

Refusal = Callable[[Message | CallbackQuery, Translator], Awaitable[None]]


class StaffOnly(Filter):
    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def __str__(self) -> str:
        return f"StaffOnly({self.permission.value})"

    async def __call__(
        self, event: Message | CallbackQuery, staff: StaffDirectory, uow_factory: UnitOfWorkFactory
    ) -> bool:
        if event.from_user is None:  # a message sent on behalf of a channel or a group
            return False
        # its own short transaction, closed before any handler talks to Telegram (SQLite: the write lock)
        async with uow_factory() as uow:
            return await staff.can(uow, event.from_user.id, self.permission)


class CuratorOnly(Filter):
    """Members of the curator group, the admins, and staff who curate (cached for a minute)."""

    async def __call__(self, query: CallbackQuery, desk: CuratorDesk) -> bool:
        return await desk.curators.allowed(query.from_user.id)


def refuse(text: str, *, show_alert: bool = False) -> Refusal:
    """A handler answering whoever StaffOnly turned away; `text` is an N_-marked catalog text."""

    async def not_allowed(event: Message | CallbackQuery, t: Translator) -> None:
        if isinstance(event, CallbackQuery):
            await event.answer(t(text), show_alert=show_alert)
        else:
            await event.answer(t(text))

    return not_allowed

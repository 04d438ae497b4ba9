"""Who is staff and what they may do. ADMIN_IDS are admins by configuration; the rest live in the database."""

from datetime import datetime
from enum import StrEnum

from bot.db.models import AuditAction, Role, StaffMember
from bot.db.uow import UnitOfWork
from bot.names import fit


class Permission(StrEnum):
    MANAGE_STAFF = "manage_staff"
    BROADCAST = "broadcast"
    CURATE = "curate"
    VIEW_METRICS = "view_metrics"
    REFUND = "refund"  # admins only


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.CARE: frozenset({Permission.BROADCAST, Permission.CURATE, Permission.VIEW_METRICS}),
    Role.CURATOR: frozenset({Permission.CURATE}),
}


class StaffError(Exception):
    """A staff change that cannot be made; the message says why."""


class StaffDirectory:
    def __init__(self, admin_ids: frozenset[int]) -> None:
        self.admin_ids = admin_ids

    async def role_of(self, uow: UnitOfWork, telegram_id: int) -> Role | None:
        if telegram_id in self.admin_ids:
            return Role.ADMIN
        member = await uow.staff.get(telegram_id)
        return member.role if member else None

    async def can(self, uow: UnitOfWork, telegram_id: int, permission: Permission) -> bool:
        role = await self.role_of(uow, telegram_id)
        return role is not None and permission in GRANTS[role]

    async def set_role(
        self,
        uow: UnitOfWork,
        telegram_id: int,
        role: Role,
        *,
        actor_id: int | None,
        now: datetime,
        name: str | None = None,
    ) -> StaffMember:
        if telegram_id in self.admin_ids:
            raise StaffError("this person is an admin through ADMIN_IDS; change the setting instead")
        if name is None:
            student = await uow.students.by_telegram_id(telegram_id)
            name = student.display_name if student else None
        name = fit(name) if name else None  # a first and a last name of 64 each, plus the space, overflow 128
        member = await uow.staff.get(telegram_id)
        if member is None:
            member = await uow.staff.add(
                StaffMember(telegram_id=telegram_id, role=role, name=name, added_by=actor_id, added_at=now)
            )
            uow.audit.record(AuditAction.STAFF_ADDED, now, actor_id=actor_id, target=str(telegram_id), role=role.value)
        elif member.role is not role:
            uow.audit.record(
                AuditAction.ROLE_CHANGED,
                now,
                actor_id=actor_id,
                target=str(telegram_id),
                old=member.role.value,
                new=role.value,
            )
            member.role = role
        if name and not member.name:
            member.name = name
        return member

    async def remove(self, uow: UnitOfWork, telegram_id: int, *, actor_id: int | None, now: datetime) -> bool:
        if telegram_id in self.admin_ids:
            raise StaffError("this person is an admin through ADMIN_IDS; change the setting instead")
        member = await uow.staff.get(telegram_id)
        if member is None:
            return False
        uow.audit.record(
            AuditAction.STAFF_REMOVED, now, actor_id=actor_id, target=str(telegram_id), role=member.role.value
        )
        await uow.staff.remove(member)
        return True

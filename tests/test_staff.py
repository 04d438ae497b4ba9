"""Staff roles: managed by admins in the bot and on the command line, refused to everyone else, audited."""

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from bot.db.models import AuditEntry, Role
from bot.services.staff import Permission
from bot.standin import BotAPIStandIn
from journeys.clock import ManualClock
from tests.conftest import World, make_settings, running_bot

ADMIN = 9001


async def role_of(world: World, telegram_id: int) -> Role | None:
    async with world.app.uow() as uow:
        return await world.app.staff.role_of(uow, telegram_id)


async def audit(world: World) -> list[AuditEntry]:
    async with world.app.uow() as uow:
        return list(await uow.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


async def test_admin_adds_changes_and_removes_staff_with_an_audit_trail(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    async with running_bot(make_settings(database_url, standin, admin_ids=str(ADMIN)), clock) as app:
        world = World(app, standin, clock)
        admin = world.student(ADMIN, "Ada")
        await admin.send("/staff add 42 care")
        assert "42 is now care team" in admin.last.text
        assert await role_of(world, 42) is Role.CARE
        await admin.send("/staff role 42 curator")
        assert await role_of(world, 42) is Role.CURATOR
        await admin.send("/staff")
        assert "(42) — curator" in admin.last.text
        await admin.send("/staff remove 42")
        assert admin.last.text == "Removed."
        assert await role_of(world, 42) is None
        entries = [(e.action, e.actor_id, e.target) for e in await audit(world)]
        assert entries == [
            ("staff_added", ADMIN, "42"),
            ("role_changed", ADMIN, "42"),
            ("staff_removed", ADMIN, "42"),
        ]


async def test_staff_commands_are_refused_to_non_admins(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    async with running_bot(make_settings(database_url, standin, admin_ids=str(ADMIN)), clock) as app:
        world = World(app, standin, clock)
        mallory = world.student(666, "Mallory")
        await mallory.send("/staff add 666 admin")
        assert "Not allowed" in mallory.last.text
        assert await role_of(world, 666) is None
        # a forged role button pressed by a non-admin changes nothing either
        answer = standin.push_callback(mallory, mallory.last.message_id, mallory.id, "sr:666:admin")
        await standin.settle()
        assert standin.callback_answers[answer].text == "Not allowed."
        assert await role_of(world, 666) is None
        assert await audit(world) == []


async def test_admin_adds_staff_by_forwarding_their_message(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    async with running_bot(make_settings(database_url, standin, admin_ids=str(ADMIN)), clock) as app:
        world = World(app, standin, clock)
        admin = world.student(ADMIN, "Ada")
        olga = {"id": 77, "is_bot": False, "first_name": "Olga"}
        await admin.send("hello", forward_origin={"type": "user", "date": 0, "sender_user": olga})
        assert "Role for Olga (77)" in admin.last.text
        await admin.click("curator")
        assert await role_of(world, 77) is Role.CURATOR
        async with app.uow() as uow:
            assert await app.staff.can(uow, 77, Permission.CURATE)
            assert not await app.staff.can(uow, 77, Permission.BROADCAST)


async def test_forwarded_message_from_a_student_is_not_a_staff_action(world: World) -> None:
    alice = world.student()
    await alice.send("hi", forward_origin={"type": "hidden_user", "date": 0, "sender_user_name": "X"})
    assert "/start" in alice.last.text  # the ordinary fallback answered


def test_staff_command_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ADMIN_IDS")}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/staff.db"
    env["ADMIN_IDS"] = "1"

    def journeybot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
        )

    assert journeybot("migrate").returncode == 0
    assert journeybot("staff", "add", "42", "--role", "care", "--name", "Olga").returncode == 0
    listing = journeybot("staff", "list")
    assert listing.stdout.splitlines() == ["1\tadmin\t(ADMIN_IDS)", "42\tcare\tOlga"]
    refused = journeybot("staff", "add", "1", "--role", "curator")
    assert refused.returncode == 1 and "ADMIN_IDS" in refused.stderr and "Traceback" not in refused.stderr
    assert journeybot("staff", "remove", "42").returncode == 0
    assert journeybot("staff", "remove", "42").returncode == 1

"""Staff roles: managed by admins in the bot and on the command line, refused to everyone else, audited."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.models import AuditEntry, Role, StaffMember
from bot.handlers.staff import SetRole
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
        answer = standin.push_callback(
            mallory, mallory.last.message_id, mallory.id, SetRole(user=666, role=Role.ADMIN).pack()
        )
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
    assert journeybot("staff", "add", "43", "--role", "curator", "--name", "N" * 300).returncode == 0  # fitted
    listing = journeybot("staff", "list")
    assert listing.stdout.splitlines() == ["1\tadmin\t(ADMIN_IDS)", "42\tcare\tOlga", "43\tcurator\t" + "N" * 127 + "…"]
    refused = journeybot("staff", "add", "1", "--role", "curator")
    assert refused.returncode == 1 and "ADMIN_IDS" in refused.stderr and "Traceback" not in refused.stderr
    assert journeybot("staff", "remove", "42").returncode == 0
    assert journeybot("staff", "remove", "42").returncode == 1
    too_big = journeybot("staff", "add", "12345678901234567890123", "--role", "care")  # over BIGINT
    assert too_big.returncode == 2 and "not a Telegram user id" in too_big.stderr and "Traceback" not in too_big.stderr


async def test_ids_that_are_not_plain_numbers_get_a_usage_line_and_change_nothing(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(make_settings(database_url, standin, admin_ids=str(ADMIN)), clock) as app:
        world = World(app, standin, clock)
        admin = world.student(ADMIN, "Ada")
        # "²" and "٣" pass str.isdigit(); the others overflow BIGINT or are no user's id
        for given in ("²", "٣", "12345678901234567890123", "9223372036854775808", "-42", "0", "4２", "1" * 100):
            for command in (f"/staff add {given} care", f"/staff remove {given}"):
                before = standin.seq
                await admin.send(command)
                answers = [m.text or "" for m in admin.messages if m.seq > before]
                assert len(answers) == 1 and "is not a Telegram user id" in answers[0], (command[:40], answers)
                assert "/staff add ID ROLE" in answers[0]
        assert await audit(world) == []
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_full_telegram_name_fits_the_staff_name_column(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock
) -> None:
    async with running_bot(make_settings(database_url, standin, admin_ids=str(ADMIN)), clock) as app:
        world = World(app, standin, clock)
        # Telegram allows 64 characters for each name: their full name is 129, one over the column
        olga = world.student(77, "О" * 64, last_name="Л" * 64)
        await olga.send("/start")
        admin = world.student(ADMIN, "Ada")
        await admin.send("/staff add 77 care")
        assert "77 is now care team" in admin.last.text
        async with app.uow() as uow:
            member = await uow.session.scalar(select(StaffMember).where(StaffMember.telegram_id == 77))
        assert member is not None and member.role is Role.CARE
        assert member.name == "О" * 64 + " " + "Л" * 62 + "…"

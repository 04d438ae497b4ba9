"""StaffOnly (bot/filters.py): each staff handler lets in exactly the roles with its permission; everyone
else gets the refusal registered after it, or, for a plain message or a forward, the student's answer."""

from collections.abc import AsyncIterator

import pytest

from bot.app import App
from bot.db.models import Role
from bot.standin import BotAPIStandIn, FakeUser
from journeys.clock import ManualClock
from tests.conftest import make_settings, running_bot

ADMIN, CARE, CURATOR, STUDENT = 9001, 9002, 9003, 1001
NOT_ADMIN = "Not allowed: only admins manage the staff."
NOT_CARE = "Not allowed: only the care team and admins send broadcasts."
NOT_ENROLLED = "Send /start to begin."


@pytest.fixture
async def app(database_url: str, standin: BotAPIStandIn, clock: ManualClock) -> AsyncIterator[App]:
    async with running_bot(make_settings(database_url, standin, admin_ids=str(ADMIN)), clock) as app:
        async with app.uow() as uow:
            for telegram_id, role in ((CARE, Role.CARE), (CURATOR, Role.CURATOR)):
                await app.staff.set_role(uow, telegram_id, role, actor_id=None, now=app.clock.now(), name="S")
            await uow.commit()
        yield app


def person(standin: BotAPIStandIn, telegram_id: int) -> FakeUser:
    return standin.user(telegram_id, f"U{telegram_id}", language_code="en")


@pytest.mark.parametrize(
    ("telegram_id", "staff", "broadcast"),
    [
        (ADMIN, True, True),
        (CARE, False, True),
        (CURATOR, False, False),
        (STUDENT, False, False),
    ],
)
async def test_each_command_admits_the_roles_with_its_permission(
    app: App, standin: BotAPIStandIn, telegram_id: int, staff: bool, broadcast: bool
) -> None:
    user = person(standin, telegram_id)
    await user.send("/staff")
    assert (user.last.text == NOT_ADMIN) is not staff
    assert ("Add or change: /staff add ID ROLE" in user.last.text) is staff
    await user.send("/broadcasts")
    assert (user.last.text == NOT_CARE) is not broadcast
    await user.send("/broadcast")
    assert (user.last.text == NOT_CARE) is not broadcast
    assert any("Next ➡" in row for row in user.last.buttons) is broadcast


async def test_a_non_admins_forward_and_a_non_broadcasters_text_are_the_students_to_answer(
    app: App, standin: BotAPIStandIn
) -> None:
    olga = {"id": 77, "is_bot": False, "first_name": "Olga"}
    curator = person(standin, CURATOR)
    await curator.send("hello", forward_origin={"type": "user", "date": 0, "sender_user": olga})
    assert curator.last.text == NOT_ENROLLED
    await curator.send("a message the wizard must not take")
    assert curator.last.text == NOT_ENROLLED
    admin = person(standin, ADMIN)
    await admin.send("hello", forward_origin={"type": "user", "date": 0, "sender_user": olga})
    assert "Role for Olga (77)" in admin.last.text


async def test_a_role_taken_away_closes_the_door_at_the_next_update(app: App, standin: BotAPIStandIn) -> None:
    care = person(standin, CARE)
    await care.send("/broadcasts")
    assert care.last.text != NOT_CARE
    async with app.uow() as uow:
        await app.staff.remove(uow, CARE, actor_id=ADMIN, now=app.clock.now())
        await uow.commit()
    await care.send("/broadcasts")
    assert care.last.text == NOT_CARE

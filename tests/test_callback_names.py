"""Callback data with named fields and enum actions: the packed values are those of the buttons already sent
(a curator may press a week-old alert), and an action the enum does not know is refused at parsing."""

import pytest

from bot.broadcasts.callbacks import WizardAction, WizardButton
from bot.curator.cards import SNOOZE_DAYS, AlertAction, AlertPress
from bot.db.models import Role
from bot.handlers.staff import REMOVE, SetRole
from bot.standin import BotAPIStandIn
from journeys.clock import ManualClock
from tests.conftest import World, make_settings, running_bot
from tests.test_callback_bounds import OUT_OF_DATE, errors, press

ADMIN = 9001
GROUP = -100555


@pytest.mark.parametrize(
    ("act", "packed"),
    [
        (AlertAction.TAKE, "al:7:take"),
        (AlertAction.WRITE, "al:7:write"),
        (AlertAction.SNOOZE_DAY, "al:7:s1"),
        (AlertAction.SNOOZE_3_DAYS, "al:7:s3"),
        (AlertAction.RESOLVE, "al:7:done"),
    ],
)
def test_alert_buttons_pack_as_they_always_did(act: AlertAction, packed: str) -> None:
    assert AlertPress(alert=7, act=act).pack() == packed
    assert AlertPress.unpack(packed) == AlertPress(alert=7, act=act)


def test_every_snooze_button_has_its_days() -> None:
    assert SNOOZE_DAYS == {AlertAction.SNOOZE_DAY: 1, AlertAction.SNOOZE_3_DAYS: 3}


@pytest.mark.parametrize(
    ("button", "packed"),
    [
        (WizardButton(broadcast=12, action=WizardAction.STATUS, index=3), "bw:12:st:3:0"),
        (WizardButton(broadcast=12, action=WizardAction.OPTION, index=1, option=2), "bw:12:o:1:2"),
        (WizardButton(broadcast=12, action=WizardAction.NO_BUTTONS), "bw:12:nobtn:0:0"),
        (WizardButton(broadcast=12, action=WizardAction.STOP), "bw:12:stop:0:0"),
    ],
)
def test_broadcast_wizard_buttons_pack_as_they_always_did(button: WizardButton, packed: str) -> None:
    assert button.pack() == packed
    assert WizardButton.unpack(packed) == button


def test_every_wizard_action_keeps_its_short_value() -> None:
    values = {action.name: action.value for action in WizardAction}
    assert values == {
        "EVERYONE": "all",
        "STATUS": "st",
        "TRACK": "tr",
        "COHORT": "co",
        "IDLE": "idle",
        "QUESTIONS": "qs",
        "QUESTION": "q",
        "OPTION": "o",
        "MAIN": "main",
        "NEXT": "next",
        "NO_BUTTONS": "nobtn",
        "PREVIEW": "prev",
        "SEND": "send",
        "SCHEDULE": "sched",
        "DROP": "drop",
        "STOP": "stop",
    }


@pytest.mark.parametrize(
    ("role", "packed"),
    [(Role.ADMIN, "sr:42:admin"), (Role.CARE, "sr:42:care"), (Role.CURATOR, "sr:42:curator"), (REMOVE, "sr:42:-")],
)
def test_role_buttons_pack_as_they_always_did(role: Role | str, packed: str) -> None:
    assert SetRole(user=42, role=role).pack() == packed
    assert SetRole.unpack(packed).role == role


async def test_an_unknown_role_alert_or_wizard_action_is_answered_as_out_of_date(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    standin.group(GROUP, "Curators", members={ADMIN: "administrator"})
    settings = make_settings(database_url, standin, admin_ids=str(ADMIN), curator_chat_id=GROUP)
    async with running_bot(settings, clock) as app:
        world = World(app, standin, clock)
        admin = world.student(ADMIN, "Ada")
        await admin.send("/staff")
        assert await press(world, admin, admin.id, "sr:42:owner") == OUT_OF_DATE
        await app.bot.send_message(GROUP, "A message of the bot's in the group to press on")
        assert await press(world, admin, GROUP, "al:1:s7") == OUT_OF_DATE
        assert await press(world, admin, admin.id, "bw:1:launch:0:0") == OUT_OF_DATE
        async with app.uow() as uow:
            assert await app.staff.role_of(uow, 42) is None
        assert errors(caplog) == []

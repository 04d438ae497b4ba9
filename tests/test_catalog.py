"""Several journeys in one bot, through the real bot and the stand-in: the catalog, deep links, /courses,
granted journeys, the next stage, the fit check, and the LMS API choosing among them."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from bot.db.models import Enrollment
from bot.settings import SHIPPED_JOURNEYS
from bot.standin import BotAPIStandIn, FakeUser
from journeys.clock import ManualClock
from journeys.journey import EnrollmentStatus
from tests.conftest import World, make_settings, running_bot
from tests.test_api import serving
from tests.test_student_path import answer_survey

EXAMPLE = SHIPPED_JOURNEYS / "example.en.yaml"  # python-basics


def journey_file(folder: Path, name: str, **changes: object) -> Path:
    document = yaml.safe_load(EXAMPLE.read_text())
    document.update(changes)
    path = folder / name
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    return path


@pytest.fixture
def catalog_files(tmp_path: Path) -> tuple[Path, ...]:
    return (
        journey_file(tmp_path, "1-basics.yaml", next="python-pro", summary="Four weeks from zero."),
        journey_file(tmp_path, "2-web.yaml", id="python-web", title="Python for the web"),
        journey_file(tmp_path, "3-pro.yaml", id="python-pro", title="Python, the pro track", access="granted"),
    )


@pytest.fixture
async def catalog_world(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock, catalog_files: tuple[Path, ...]
) -> AsyncIterator[World]:
    async with running_bot(make_settings(database_url, standin, journeys=catalog_files), clock) as app:
        yield World(app, standin, clock)


async def enrollments(world: World, user: FakeUser) -> dict[str, EnrollmentStatus]:
    async with world.app.uow() as uow:
        student = await uow.students.by_telegram_id(user.id)
        if student is None:
            return {}
        return {e.journey_id: e.status for e in await uow.enrollments.of_student(student.id)}


async def test_a_newcomer_picks_from_the_open_courses(catalog_world: World) -> None:
    alice = catalog_world.student()
    await alice.send("/start")
    assert "Which course would you like to take?" in alice.last.text
    assert "Four weeks from zero." in alice.last.text  # the summary
    assert alice.last.button("Python in four weeks") and alice.last.button("Python for the web")
    assert alice.last.button("Python, the pro track") is None  # comes with a purchase
    assert await enrollments(catalog_world, alice) == {}

    await alice.click("Python for the web")
    assert "Python in four weeks" in alice.messages[-2].text  # the journey's welcome (a copy of the example)
    assert "Question 1 of 4" in alice.last.text
    assert await enrollments(catalog_world, alice) == {"python-web": EnrollmentStatus.ONBOARDING}


async def test_deep_links_enroll_in_their_course_and_courses_switches_between_them(catalog_world: World) -> None:
    alice = catalog_world.student()
    await alice.send("/start c-python-basics")
    await alice.click("Never")
    await alice.click("Beginner")
    await alice.click("Skip")
    await alice.click("This is my first time")
    basics_step = alice.last
    assert "Step 1 of 5" in basics_step.text

    await alice.send("/start c-python-web")  # a second course: its own survey
    assert "Question 1 of 4" in alice.last.text
    assert await enrollments(catalog_world, alice) == {
        "python-basics": EnrollmentStatus.ACTIVE,
        "python-web": EnrollmentStatus.ONBOARDING,
    }
    await alice.send("Never")  # free text acts on the current course: a button is expected there
    assert "Please choose one of the buttons" in alice.messages[-2].text

    await alice.send("/courses")
    listing = alice.last
    assert "👉 Python for the web\nthe survey is not finished" in listing.text
    assert "Python in four weeks\nDone 0 of 5" in listing.text
    assert listing.button("▶️ Python for the web") is None  # the current one has no switch button
    await alice.click(listing, "▶️ Python in four weeks")
    assert any("Now on: Python in four weeks" in (m.text or "") for m in alice.messages[-3:])
    assert "Step 1 of 5" in alice.last.text  # back at the current step of that course
    await alice.send("/progress")
    assert "Your track: Step by step" in alice.last.text and "Done 0 of 5" in alice.last.text

    # a Done under the first course's step counts there, whichever course is current
    await alice.send("/start c-python-web")
    assert await alice.click(basics_step, "✅ Done") == "Counted ✓"
    assert "Step 2 of 5" in alice.last.text


async def test_a_granted_course_is_not_started_by_its_link(catalog_world: World) -> None:
    alice = catalog_world.student()
    await alice.send("/start c-python-pro")
    assert "Python, the pro track" in alice.last.text
    assert "opens with a purchase" in alice.last.text
    assert await enrollments(catalog_world, alice) == {}


async def test_an_unknown_course_link_says_so_and_shows_the_catalog(catalog_world: World) -> None:
    alice = catalog_world.student()
    await alice.send("/start c-nope")
    assert "This course is not offered here" in alice.messages[-2].text
    assert "Which course would you like to take?" in alice.last.text
    assert await alice.click(alice.last, "Python in four weeks") is None
    # a forged course button is refused by the catalog, not by the database
    await alice.send("/start c-python-basics")
    assert "Question 1 of 4" in alice.last.text


async def test_completing_a_course_shows_its_next_stage(catalog_world: World) -> None:
    bob = catalog_world.student(1002, "Bob")
    await bob.send("/start c-python-basics")
    await answer_survey(bob, experience="A little", level="Intermediate", goal="CLI", fmt="Yes, I know the format")
    await bob.click("✅ Done")
    await bob.click("Project submitted")
    assert "You finished" in bob.last.text
    await bob.click(bob.last, "Next stage: «Python, the pro track»")
    assert "opens with a purchase" in bob.last.text


async def test_the_fit_check_ends_the_survey_with_the_next_stage_and_a_consultation(default_world: World) -> None:
    boris = default_world.student(2002, "Борис", language="ru")
    await boris.send("/start")
    for answer in ("Есть свой интернет-магазин", "Уверенный", "Увеличить продажи"):
        await boris.click(answer)
    verdict = boris.last
    assert "этот курс начинается с выбора ниши" in verdict.text
    assert verdict.button("Расскажите про «Рост интернет-магазина»") is not None
    assert await enrollments(default_world, boris) == {"online-store": EnrollmentStatus.NOT_A_FIT}

    await boris.send("/progress")
    assert "Этот курс не подходит под ваши ответы" in boris.messages[-2].text
    assert "этот курс начинается с выбора ниши" in boris.last.text  # said again, with the same ways on
    await boris.click(verdict, "💬 Записаться на бесплатную консультацию")
    assert "Школа свяжется с вами" in boris.last.text  # a sales lead; this bot has no curator chat
    await boris.click(verdict, "Расскажите про «Рост интернет-магазина»")
    assert "Вторая ступень для выпускников" in boris.last.text  # its summary
    assert "открывается после покупки" in boris.last.text


async def test_the_lms_enrolls_in_the_journey_it_names_even_a_granted_one(
    database_url: str, standin: BotAPIStandIn, clock: ManualClock, catalog_files: tuple[Path, ...]
) -> None:
    async with serving(database_url, standin, journeys=catalog_files, journey_file=None) as api:
        basics = await (await api.enroll()).json()
        pro = await api.enroll(journey="python-pro")
        assert pro.status == 201
        sold = await pro.json()
        assert sold["journey"] == "python-pro" and sold["start_link"] != basics["start_link"]
        unknown = await api.enroll(journey="cooking")
        assert unknown.status == 422
        assert (await unknown.json())["fields"][0]["field"] == "journey"

        # both journeys have the step: the event must say which
        await api.post("/api/v1/enrollments", {"external_id": "lms-1", "name": "Ann", "journey": "python-web"})
        ambiguous = await api.event("e-1", step_id="variables")
        assert ambiguous.status == 422 and (await ambiguous.json())["fields"][0]["field"] == "journey"
        named = await api.post(
            "/api/v1/events",
            {
                "event_id": "e-1",
                "external_id": "lms-1",
                "type": "step_completed",
                "step_id": "variables",
                "journey": "python-pro",
            },
        )
        assert named.status == 200 and (await named.json())["applied"] is False  # kept until they open the link

    async with running_bot(make_settings(database_url, standin, journeys=catalog_files), clock) as app:
        ann = standin.user(3001, "Ann", language_code="en")
        await ann.send("/start " + sold["start_link"].rsplit("=", 1)[1])
        assert "Question 1 of 4" in ann.last.text
        async with app.uow() as uow:
            student = await uow.students.by_telegram_id(ann.id)
            assert student is not None
            (enrollment,) = await uow.enrollments.of_student(student.id)
            assert isinstance(enrollment, Enrollment) and enrollment.journey_id == "python-pro"
            assert await uow.enrollments.completed_steps(enrollment.id) == {"variables"}

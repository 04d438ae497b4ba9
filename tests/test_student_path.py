"""A student's path through the English example journey, through the real bot and the stand-in."""

from bot.standin import FakeUser
from tests.conftest import World


async def answer_survey(student: FakeUser, *, experience: str, level: str, goal: str | None, fmt: str) -> None:
    await student.send("/start")
    await student.click(experience)
    await student.click(level)
    if goal is None:
        await student.click("Skip")
    else:
        await student.send(goal)
    await student.click(fmt)


async def test_novice_answers_the_survey_and_gets_the_format_intro(world: World) -> None:
    alice = world.student()
    await alice.send("/start")
    assert "Python in four weeks" in alice.messages[0].text
    assert "Question 1 of 4" in alice.last.text
    await alice.click("Never")
    await alice.click("Beginner")
    await alice.send("A bot for my bakery")
    await alice.click("This is my first time")

    texts = [m.text for m in alice.messages]
    assert any("Your track: Step by step" in t for t in texts)
    assert "How this course works" in alice.last.text
    assert "Step 1 of 5" in alice.last.text
    assert alice.last.button("✅ Done") is not None
    videos = world.standin.calls_to("sendVideo")
    assert len(videos) == 1


async def test_advanced_student_skips_the_introduction(world: World) -> None:
    bob = world.student(1002, "Bob")
    await answer_survey(bob, experience="Yes, it is my job", level="Advanced", goal=None, fmt="Yes, I know the format")
    texts = [m.text for m in bob.messages]
    assert any("Skip the introduction, start with practice." in t for t in texts)
    assert "Functions" in bob.last.text
    assert "Step 1 of 2" in bob.last.text
    assert not world.standin.calls_to("sendVideo")


async def test_done_pressed_twice_counts_once(world: World) -> None:
    alice = world.student()
    await answer_survey(alice, experience="Never", level="Beginner", goal=None, fmt="This is my first time")
    step_one = alice.last
    assert await alice.click(step_one, "✅ Done") == "Counted ✓"
    assert "Install Python" in alice.last.text and "Step 2 of 5" in alice.last.text
    messages_before = len(alice.messages)

    step_one.reply_markup = {"inline_keyboard": [[{"text": "✅ Done", "callback_data": "d:1:0"}]]}
    assert await alice.click(step_one, "✅ Done") == "Already counted ✓"
    assert len(alice.messages) == messages_before

    await alice.send("/progress")
    assert "Done 1 of 5" in alice.last.text


async def test_last_step_completes_the_course(world: World) -> None:
    bob = world.student(1002, "Bob")
    await answer_survey(
        bob, experience="A little", level="Intermediate", goal="CLI tools", fmt="Yes, I know the format"
    )
    await bob.click("✅ Done")
    await bob.click("Project submitted")
    assert "You finished" in bob.last.text
    assert "Done 2 of 2" in bob.last.text and "100%" in bob.last.text
    await bob.send("/start")
    assert "You have completed the course" in bob.last.text


async def test_typing_where_a_button_is_expected_repeats_the_question(world: World) -> None:
    alice = world.student()
    await alice.send("/start")
    await alice.send("I have some experience")
    hint, question = alice.messages[-2:]
    assert "choose one of the buttons" in hint.text
    assert "Question 1 of 4" in question.text and question.buttons


async def test_free_text_answer_is_validated(world: World) -> None:
    alice = world.student()
    await alice.send("/start")
    await alice.click("Never")
    await alice.click("Beginner")
    await alice.send("ab")
    assert "at least 3 characters" in alice.messages[-2].text
    assert "Question 3 of 4" in alice.last.text
    await alice.send("A bot")
    assert "Question 4 of 4" in alice.last.text


async def test_stale_survey_button_changes_nothing(world: World) -> None:
    alice = world.student()
    await alice.send("/start")
    first_question = alice.last
    buttons = first_question.reply_markup
    await alice.click("Never")
    first_question.reply_markup = buttons  # an old client still shows the buttons
    assert await alice.click(first_question, "A little") == "You have already answered this question."
    answers = await stored_answers(world, alice.id)
    assert answers == {"experience": "none"}


async def test_button_of_another_student_is_refused(world: World) -> None:
    alice, mallory = world.student(), world.student(1666, "Mallory")
    await alice.send("/start")
    await mallory.send("/start")
    forged = alice.last
    answer = world.standin.push_callback(
        mallory, forged.message_id, mallory.id, forged.reply_markup["inline_keyboard"][0][0]["callback_data"]
    )
    await world.standin.settle()
    assert world.standin.callback_answers[answer].text == "This button is not yours."
    assert await stored_answers(world, alice.id) == {}


async def test_returning_student_resumes_at_the_same_question(world: World) -> None:
    alice = world.student()
    await alice.send("/start")
    await alice.click("Never")
    await alice.send("/start")
    assert "Question 2 of 4" in alice.last.text
    assert sum("Python in four weeks" in (m.text or "") for m in alice.messages) == 1


async def test_any_message_gets_an_answer(world: World) -> None:
    alice = world.student()
    await alice.send("hello?")
    assert "/start" in alice.last.text
    await alice.send("/start")
    await alice.send_photo()
    assert "/help" in alice.last.text
    await alice.send("/help")
    assert "/progress" in alice.last.text


async def test_russian_is_the_default_language(world: World) -> None:
    ivan = world.student(1003, "Иван", language="ru")
    await ivan.send("/start")
    assert "Вопрос 1 из 4" in ivan.last.text
    await ivan.send("текст")
    assert "кнопкой" in ivan.messages[-2].text


async def stored_answers(world: World, telegram_id: int) -> dict:
    async with world.app.uow() as uow:
        student = await uow.students.by_telegram_id(telegram_id)
        enrollment = await uow.enrollments.current(student.id, world.app.journey.id)
        return dict(enrollment.answers)

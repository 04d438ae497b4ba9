"""The README's first command: the offline demo ends well and shows both tracks."""

from io import StringIO

from bot.demo import run_demo


async def test_demo_takes_a_novice_and_an_advanced_student_down_different_tracks() -> None:
    out = StringIO()
    assert await run_demo(out=out) == 0
    text = out.getvalue()
    assert "Анна: track novice, completed, 9/9 steps" in text
    assert "Борис: track advanced, active, 2/7 steps" in text
    assert "Уже засчитано ✓" in text  # the double tap counted once

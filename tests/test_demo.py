"""The README's first command: the offline demo tells the whole story and ends well."""

from io import StringIO

from bot.demo import run_demo


async def test_demo_takes_students_down_their_tracks_and_brings_a_stalled_one_back() -> None:
    out = StringIO()
    assert await run_demo(out=out) == 0
    text = out.getvalue()
    assert "Анна: online-store, track novice, completed, 9/9 steps" in text
    assert "Борис: online-store, track advanced, active, 3/7 steps" in text
    assert "Уже засчитано ✓" in text  # the double tap counted once
    assert "Бонус выпускника" in text  # rewards arrived
    assert "Кажется, шаг застрял" in text  # the second rung of the ladder
    assert "Студент застрял" in text and "Решено: студент продвинулся" in text  # alert raised, then resolved
    for event in ("alert_raised 1", "alert_taken 1", "curator_replied 1", "alert_resolved 1"):
        assert event in text

"""The README's first command: the offline demo tells the whole story and ends well."""

from io import StringIO

from bot.demo import run_demo


async def test_demo_takes_students_down_their_tracks_brings_a_stalled_one_back_and_sells_what_comes_next() -> None:
    out = StringIO()
    assert await run_demo(out=out) == 0
    text = out.getvalue()
    assert "Анна: online-store, track novice, completed, 9/9 steps" in text
    assert "Борис: online-store, track advanced, completed, 7/7 steps" in text
    assert "Уже засчитано ✓" in text  # the double tap counted once
    assert "Бонус выпускника" in text  # rewards arrived
    assert "Кажется, шаг застрял" in text  # the second rung of the ladder
    assert "Студент застрял" in text and "Решено: студент продвинулся" in text  # alert raised, then resolved
    # Борис's alert; Анна goes quiet on her new course through the weeks fast-forwarded after it, a second one
    for event in ("alert_raised 2", "alert_taken 1", "curator_replied 1", "alert_resolved 1"):
        assert event in text
    # after the course: the club with its join request, the paid next stage, the school's checkout, the lapse
    assert "bot ✓ approves Анна @ Клуб выпускников" in text
    assert "Этот курс открывается после покупки" in text  # the next stage's deep link, before she bought it
    assert "Анна: online-store-growth, track growth, active" in text  # bought in Stars, then started
    assert "POST /api/v1/payments shop-order-1042" in text and "Поддержка наставника ваша до" in text
    assert "bans Анна" in text and "unbans Анна" in text and "больше не в группе клуба" in text
    for line in (
        "Анна: club, 250 ⭐ (stars)",
        "Анна: growth-stage, 2490 ⭐ (stars)",
        "Борис: mentor-growth, 14900.00 RUB",
    ):
        assert line in text
    assert "paid in all: 14900.00 RUB, 2740 ⭐" in text

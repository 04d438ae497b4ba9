"""The demo's second half: what the school earns after the course.

Анна joins the graduate club with a Stars subscription (her join request approved), buys the paid next stage in
Stars and starts it, then lets the club lapse and is removed with a renew button. Борис finishes without revenue:
his outcome check-in brings the mentor support offer, which he pays for on the school's site, and the school's
checkout reports the payment to the bot's API.
"""

import hashlib
import hmac
import json
from urllib.parse import parse_qs, urlsplit

import aiohttp

from bot.app import App
from bot.demo_tools import WAIT, Transcript, fast_forward, got, slow_down, wait_for_button, with_button
from bot.standin import BotAPIStandIn, FakeUser, JoinResult

CLUB_BUTTON = "Вступить в клуб"


class SchoolCheckout:
    """The school's own checkout, as the bot sees it: it reports a paid order to POST /api/v1/payments, signed."""

    def __init__(self, base_url: str, secret: str) -> None:
        self.base_url, self.secret = base_url, secret

    async def report(self, body: dict[str, object]) -> dict[str, object]:
        raw = json.dumps(body).encode()
        signature = "sha256=" + hmac.new(self.secret.encode(), raw, hashlib.sha256).hexdigest()
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{self.base_url}/api/v1/payments", data=raw, headers={"X-Signature": signature}) as answer,
        ):
            result: dict[str, object] = await answer.json()
            if answer.status != 200:
                raise RuntimeError(f"the payments API answered {answer.status}: {result}")
            return result


async def club_and_next_stage(
    app: App, standin: BotAPIStandIn, transcript: Transcript, anna: FakeUser, *, fast: float
) -> None:
    transcript.narrate("Анна, offered the graduate club after her course, joins it with a Stars subscription (/club)")
    await anna.send("/club")
    join = with_button(anna, "Вступить за 250 ⭐ в месяц")
    assert join is not None, "the club's subscription link"
    button = join.button("Вступить за 250 ⭐ в месяц")
    assert button is not None
    assert await standin.pay(anna, button["url"]) is not None, "Анна's subscription payment"
    invite = await wait_for_button(standin, anna, CLUB_BUTTON, what="Анна's personal club link")
    link = invite.button(CLUB_BUTTON)
    assert link is not None
    assert await anna.open_invite(link["url"]) is JoinResult.REQUESTED
    await standin.wait_for(lambda: standin.calls_to("approveChatJoinRequest"), WAIT, what="the approval")

    transcript.narrate("the next stage: its deep link says it opens with a purchase; Анна buys it in Stars")
    await anna.send("/start c-online-store-growth")
    fast_forward(app, fast)  # offers wait out quiet hours and the weekly cap: this one came with her completion
    offer = await wait_for_button(standin, anna, "Купить за ⭐2490", what="the next stage's offer")
    slow_down(app)
    await anna.click(offer, "Купить за ⭐2490")
    invoice = next(m for m in reversed(anna.messages) if m.raw.get("invoice"))
    assert await standin.pay(anna, invoice) is not None, "Анна's payment for the next stage"
    question = await wait_for_button(standin, anna, "До 300 тыс. ₽", what="the next stage's survey")
    await anna.click(question, "До 300 тыс. ₽")
    await anna.expect("Шаг 1 из 4", timeout=WAIT)

    transcript.narrate("Анна cancels the club's renewal: it stays hers until the paid month ends")
    await anna.send("/club")
    await anna.click("Отменить продление")


async def mentor_through_the_school(
    app: App, standin: BotAPIStandIn, transcript: Transcript, boris: FakeUser, school: SchoolCheckout, *, fast: float
) -> None:
    transcript.narrate("Борис finishes the course")
    while any(m.button("✅ Готово") for m in boris.messages):
        await boris.click("✅ Готово")

    transcript.narrate("⏩ two weeks later the outcome check-in asks how the shop is doing: no sales yet")
    fast_forward(app, fast)
    first_sale = await wait_for_button(standin, boris, "Пока нет", what="Борис's check-in")
    slow_down(app)
    # the club offer came with his completion (or a week later, when the weekly cap let it): not for now
    club = next((m for m in reversed(boris.messages) if m.button("Купить за ⭐990") and m.button("Не сейчас")), None)
    if club is not None:
        await boris.click(club, "Не сейчас")
    await boris.click(first_sale, "Пока нет")
    revenue = await wait_for_button(standin, boris, "Пока нет выручки", what="the check-in's second question")
    await boris.click(revenue, "Пока нет выручки")

    transcript.narrate("no revenue yet → mentor support; Борис pays on the school's site, the school reports it")
    fast_forward(app, fast)  # the offer waits out quiet hours, if he answered at night
    offer = await wait_for_button(standin, boris, "Оплатить на сайте школы", what="the mentor support offer")
    slow_down(app)
    button = offer.button("Оплатить на сайте школы")
    assert button is not None
    transcript.line(f"Борис ⟶ opens {urlsplit(button['url'])._replace(query='student_token=…').geturl()}")
    token = parse_qs(urlsplit(button["url"]).query)["student_token"][0]
    paid = await school.report(
        {
            "payment_id": "shop-order-1042",
            "student_token": token,
            "product": "mentor-growth",
            "amount": 1_490_000,
            "currency": "RUB",
            "paid_at": app.clock.now().isoformat(),
        }
    )
    transcript.line(f"school ⟶ POST /api/v1/payments shop-order-1042 14900.00 RUB → {paid}")
    await standin.wait_for(lambda: got(boris, "Поддержка наставника"), WAIT, what="Борис's mentor support")


async def club_lapses(app: App, standin: BotAPIStandIn, transcript: Transcript, anna: FakeUser, *, fast: float) -> None:
    transcript.narrate("⏩ Анна's paid month ends: a reminder, then after the grace days she leaves the club")
    fast_forward(app, fast)
    # the rest of her month and the grace days: about three weeks of journey time
    await standin.wait_for(lambda: standin.calls_to("banChatMember"), 3 * WAIT, what="the removal from the club")
    await standin.wait_for(lambda: got(anna, "больше не в группе клуба"), WAIT, what="the removal message")
    slow_down(app)
    assert with_button(anna, "Продлить") is not None

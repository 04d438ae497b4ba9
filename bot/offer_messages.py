"""Offers, deadline reminders and check-in questions as messages: the offer's media and text with its buttons.

Buy (Telegram Stars, handled by the payment flow), the school's checkout page with the signed student token,
Learn more through the bot's signed redirect, Not now, and for a lead Talk to a curator.
"""

from datetime import datetime
from html import escape

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import CheckinAnswer, CheckinSkip, OfferAction, OfferPress
from bot.i18n import Translator
from bot.offer_links import ClickLinks, with_student_token
from bot.outbox.messages import Out
from bot.render import question_text
from bot.revenue.tokens import StudentTokens
from journeys.spec import Checkin, Offer, Question


class OfferMessages:
    def __init__(self, links: ClickLinks, tokens: StudentTokens | None) -> None:
        self.links = links
        self.tokens = tokens  # None without API_SECRET: no checkout button, the payment could not be attributed

    def offer(self, offer: Offer, t: Translator, *, student_id: int, enrollment_id: int, now: datetime) -> list[Out]:
        outs = []
        if offer.media:
            outs.append(Out.media(f"send_{offer.media.kind.value}", offer.media.url))
        markup = self.keyboard(offer, t, student_id=student_id, enrollment_id=enrollment_id, now=now)
        outs.append(Out.text(offer.text.strip(), markup))
        return outs

    def reminder(self, offer: Offer, t: Translator, *, student_id: int, enrollment_id: int, now: datetime) -> list[Out]:
        text = offer.reminder_text.strip() if offer.reminder_text else t("⏳ The offer ends soon:")
        if not offer.reminder_text:
            text += "\n\n" + offer.text.strip()
        markup = self.keyboard(offer, t, student_id=student_id, enrollment_id=enrollment_id, now=now)
        return [Out.text(text, markup)]

    def keyboard(
        self, offer: Offer, t: Translator, *, student_id: int, enrollment_id: int, now: datetime
    ) -> InlineKeyboardMarkup:
        buttons = offer.buttons

        def press(text: str, act: OfferAction) -> list[InlineKeyboardButton]:
            data = OfferPress(enrollment=enrollment_id, offer=offer.id, act=act).pack()
            return [InlineKeyboardButton(text=text[:64], callback_data=data)]

        rows = []
        price = offer.price
        if price is not None and price.stars is not None:
            rows.append(press(buttons.buy or t("Buy for ⭐{stars}", stars=price.stars), OfferAction.BUY))
        if price is not None and price.checkout_url is not None and self.tokens is not None:
            token = self.tokens.issue(student_id, now=now, enrollment_id=enrollment_id, offer_id=offer.id)
            url = with_student_token(price.checkout_url, token)
            rows.append([InlineKeyboardButton(text=buttons.checkout or t("Pay on the school's site"), url=url)])
        if offer.lead:
            rows.append(press(buttons.lead or t("💬 Talk to a curator"), OfferAction.LEAD))
        if offer.link is not None:
            url = self.links.learn_more(enrollment_id, offer.id, offer.link.url)
            rows.append([InlineKeyboardButton(text=offer.link.text[:64], url=url)])
        rows.append(press(buttons.dismiss or t("Not now"), OfferAction.DISMISS))
        return InlineKeyboardMarkup(inline_keyboard=rows)

    @staticmethod
    def question(checkin: Checkin, at: int, index: int, t: Translator, *, enrollment_id: int, first: bool) -> Out:
        """Question `index` of check-in number `at` of the journey; the first one comes with the intro."""
        question = checkin.questions[index]
        text = question_text(index, len(checkin.questions), question.text, t)
        if first and checkin.intro:
            text = f"{checkin.intro.strip()}\n\n{text}"
        if not question.is_choice:
            text += "\n\n" + t("Please answer in one message.")
        return Out.text(text, checkin_keyboard(question, at, index, t, enrollment_id=enrollment_id))


def checkin_keyboard(
    question: Question, at: int, index: int, t: Translator, *, enrollment_id: int
) -> InlineKeyboardMarkup | None:
    rows = [
        [
            InlineKeyboardButton(
                text=option.text,
                callback_data=CheckinAnswer(enrollment=enrollment_id, checkin=at, question=index, option=i).pack(),
            )
        ]
        for i, option in enumerate(question.options)
    ]
    if not question.required:
        skip = CheckinSkip(enrollment=enrollment_id, checkin=at, question=index).pack()
        rows.append([InlineKeyboardButton(text=t("Skip"), callback_data=skip)])
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def answered_text(question: Question, index: int, total: int, answer: str | None, t: Translator) -> str:
    """The question as it reads once answered: its buttons gone, the answer under it."""
    shown = escape(answer) if answer is not None else t("skipped")
    return question_text(index, total, question.text, t) + f"\n\n✓ {shown}"

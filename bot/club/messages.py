"""What the club says: the members' messages (queued or sent at once) and their buttons, in the member's language."""

from dataclasses import dataclass
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import ClubAction, ClubPress
from bot.i18n import Translations, Translator
from bot.outbox.messages import Out


def day(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%d.%m.%Y")


def renew_keyboard(t: Translator) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(text=t("Renew"), callback_data=ClubPress(act=ClubAction.RENEW).pack())
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


@dataclass(frozen=True)
class ClubView:
    """What /club shows a student: their membership as of now (None: never a member)."""

    price: int  # the club's monthly price in Stars
    tz: ZoneInfo
    access_until: datetime | None = None
    in_group_until: datetime | None = None  # access_until plus the grace
    active: bool = False  # status active (access, or in the grace)
    in_grace: bool = False  # the period has ended, the member is not removed yet
    subscription: bool = False  # paid by a Stars subscription
    auto_renew: bool = False
    next_charge: int | None = None  # Stars, for a subscription that renews
    invite_link: str | None = None
    pay_link: str | None = None  # a subscription invoice link, when joining or renewing makes sense


class ClubTexts:
    def __init__(self, translations: Translations, price: int) -> None:
        self.translations, self.price = translations, price

    def t(self, language: str | None) -> Translator:
        return self.translations.get(language)

    def invite(self, language: str, link: str) -> Out:
        t = self.t(language)
        button = InlineKeyboardButton(text=t("Join the club"), url=link)
        text = t(
            "Welcome to the graduate club! The link below is yours alone: it lets in nobody else, "
            "so there is no need to share it."
        )
        return Out.text(text, InlineKeyboardMarkup(inline_keyboard=[[button]]))

    def reminder(self, language: str, until: datetime, tz: ZoneInfo) -> Out:
        t = self.t(language)
        text = t("Your club membership ends on {date}. Renew it to stay in the club.", date=day(until, tz))
        return Out.text(text, renew_keyboard(t))

    def removed(self, language: str, *, refunded: bool) -> Out:
        t = self.t(language)
        if refunded:
            text = t("Your club payment was refunded, so your club membership has ended.")
        else:
            text = t(
                "Your club membership has ended, so you are no longer in the club group. Renew any time to come back."
            )
        return Out.text(text, renew_keyboard(t))

    def winback(self, language: str) -> Out:
        t = self.t(language)
        text = t("We miss you in the graduate club! Come back for {price} ⭐ a month.", price=self.price)
        return Out.text(text, renew_keyboard(t))

    def rights_lost(self, language: str | None, reason: str) -> Out:
        t = self.t(language)
        return Out.text(
            t(
                "⚠️ The bot cannot manage the graduate club: {reason}. Make it an administrator of the club group "
                "with the rights to invite users and to ban members; until then invites, join requests and "
                "removals wait and are tried again.",
                reason=escape(reason),
            )
        )

    def declined(self, language: str | None, bot_username: str, until: datetime | None, tz: ZoneInfo) -> str:
        t = self.t(language)
        if until is not None:
            return t(
                "Your club membership ended on {date}, so the bot could not let you in. "
                "Renew it with /club in @{bot} and join again.",
                date=day(until, tz),
                bot=bot_username,
            )
        return t(
            "The graduate club is for its members. To join, send /club to @{bot}, subscribe, and use the "
            "personal link the bot sends you.",
            bot=bot_username,
        )

    def view(self, language: str, view: ClubView) -> tuple[str, InlineKeyboardMarkup | None]:
        """/club for a student."""
        t = self.t(language)
        rows: list[list[InlineKeyboardButton]] = []
        if view.active and view.invite_link:
            rows.append([InlineKeyboardButton(text=t("Open the club"), url=view.invite_link)])
        lines = [t("<b>The graduate club</b>")]
        if not view.active or view.access_until is None:
            if view.access_until is not None:
                lines.append(t("Your membership ended on {date}.", date=day(view.access_until, view.tz)))
            lines.append(t("{price} ⭐ a month, renewed by Telegram; cancel any time.", price=view.price))
        elif view.in_grace and view.in_group_until is not None:
            lines.append(
                t(
                    "Your membership ended on {date}; renew it by {until} to stay in the club.",
                    date=day(view.access_until, view.tz),
                    until=day(view.in_group_until, view.tz),
                )
            )
        else:
            lines.append(t("You are a member until {date}.", date=day(view.access_until, view.tz)))
            if view.subscription and view.auto_renew:
                lines.append(
                    t(
                        "Next charge: {date}, {amount} ⭐.",
                        date=day(view.access_until, view.tz),
                        amount=view.next_charge or view.price,
                    )
                )
            elif view.subscription:
                lines.append(t("Renewal is cancelled: the membership ends then."))
        if view.subscription and view.active:
            act, label = (
                (ClubAction.CANCEL, t("Cancel renewal"))
                if view.auto_renew
                else (ClubAction.RESUME, t("Renew automatically"))
            )
            rows.append([InlineKeyboardButton(text=label, callback_data=ClubPress(act=act).pack())])
        if view.pay_link:
            label = (
                t("Renew for {price} ⭐ a month", price=view.price)
                if view.active
                else t("Join for {price} ⭐ a month", price=view.price)
            )
            rows.append([InlineKeyboardButton(text=label, url=view.pay_link)])
        return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows) if rows else None

"""/club for the care team and admins: the club's members, joins and leaves, recurring revenue and churn."""

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.club import Club
from bot.club.stats import ClubStats
from bot.filters import StaffOnly
from bot.i18n import Translator
from bot.revenue.money import format_amount
from bot.services.staff import Permission


async def club_overview(message: Message, club: Club, t: Translator) -> None:
    if not club.enabled:
        await message.answer(t("The graduate club is off: set CLUB_CHAT_ID to turn it on."))
        return
    await message.answer(overview(await club.stats(), t))


def overview(stats: ClubStats, t: Translator) -> str:
    mrr = ", ".join(format_amount(amount, currency) for currency, amount in stats.mrr.items()) or "0"
    churn = f"{stats.churn:.0%}" if stats.churn is not None else "—"
    return "\n".join(
        [
            t("<b>Graduate club</b>"),
            t("Members now: {n} (in their grace period: {grace})", n=stats.members, grace=stats.in_grace),
            t("This month: {joined} joined, {left} left", joined=stats.joined, left=stats.left),
            t("Monthly recurring revenue: {mrr}", mrr=mrr),
            t("Churn this month: {churn}", churn=churn),
        ]
    )


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    # anyone else's /club goes on to the student's /club
    router.message.register(club_overview, Command("club"), StaffOnly(Permission.VIEW_METRICS))
    return router

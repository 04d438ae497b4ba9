"""The graduate club's parts, built from the settings: on with CLUB_CHAT_ID, off (with a warning) without."""

import logging
from datetime import timedelta

from aiogram import Bot

from bot.club.access import ClubAccess
from bot.club.joins import ClubJoins
from bot.club.lifecycle import ClubLifecycle
from bot.club.members import ClubMembers
from bot.club.messages import ClubTexts
from bot.club.rights import ClubRights
from bot.club.stats import ClubStats, club_stats
from bot.db.uow import UnitOfWorkFactory
from bot.i18n import Translations
from bot.settings import Settings
from journeys.catalog import Catalog
from journeys.clock import Clock
from journeys.club import ClubTerms

log = logging.getLogger(__name__)


class Club:
    def __init__(
        self,
        settings: Settings,
        uow: UnitOfWorkFactory,
        bot: Bot,
        catalog: Catalog,
        translations: Translations,
        clock: Clock,
    ) -> None:
        self.chat_id = settings.club_chat_id
        self.uow, self.clock, self.tz = uow, clock, settings.tz
        self.price = settings.club_price_stars
        self.texts = ClubTexts(translations, self.price)
        self.terms = ClubTerms(
            grace=timedelta(days=settings.club_grace_days),
            reminder=timedelta(days=settings.club_renewal_reminder_days),
            winback=timedelta(days=settings.club_winback_days),
        )
        if self.chat_id is None:
            log.warning("CLUB_CHAT_ID is not set: the graduate club is off")
            return
        self.rights = ClubRights(self.chat_id, settings.admin_ids, self.texts)
        self.lifecycle = ClubLifecycle(self.chat_id, bot, self.terms, self.texts, self.rights)
        self.access = ClubAccess(catalog, self.lifecycle)
        self.joins = ClubJoins(uow, bot, clock, self.texts, self.rights, self.tz)
        self.members = ClubMembers(uow, bot, clock, self.lifecycle, self.terms, self.texts)

    @property
    def enabled(self) -> bool:
        return self.chat_id is not None

    async def stats(self) -> ClubStats:
        async with self.uow() as uow:
            return await club_stats(uow, self.clock.now(), self.tz)

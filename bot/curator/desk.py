"""The curator desk: its parts, built together.

The parts: alerts (bot/curator/alerts.py), the daily digest (digest.py), the relay (relay.py), forum topics
(topics.py) and their repair (topic_repair.py). Proactive messages to the group go through the outbox,
one OutboxKind each; the sender's hooks (registered in bot/jobs.py) put them into the student's forum topic
and remember which group message belongs to which alert or student.
"""

import logging
from collections.abc import Callable

from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncSession

from bot.curator.alerts import Alerts, PressOutcome, ReasonsAt
from bot.curator.digest import Digest
from bot.curator.facts import StudentFacts
from bot.curator.permissions import Curators
from bot.curator.relay import Relay
from bot.curator.topic_repair import TopicRepair
from bot.curator.topics import Forums, Topics
from bot.db.models import OutboxMessage
from bot.db.uow import UnitOfWorkFactory
from bot.i18n import Translations
from bot.outbox.payloads import AboutStudent
from bot.services.staff import Permission, StaffDirectory
from bot.settings import Settings
from journeys.catalog import Catalog
from journeys.clock import Clock

__all__ = ["CuratorDesk", "PressOutcome", "ReasonsAt"]

log = logging.getLogger(__name__)


class CuratorDesk:
    def __init__(
        self,
        settings: Settings,
        uow_factory: UnitOfWorkFactory,
        bot: Bot,
        catalog: Catalog,
        translations: Translations,
        clock: Clock,
        stall_reasons: ReasonsAt,
        wake: Callable[[], None],
    ) -> None:
        """`wake` tells the sender something was queued for now; bot/jobs.py hooks the desk into it."""
        self.chat_id = settings.curator_chat_id
        self._uow = uow_factory
        self.t = translations.get(catalog.default.spec.language)  # the group speaks the school's language
        self.staff = StaffDirectory(settings.admin_ids)
        self.curators = Curators(bot, self.chat_id, settings.admin_ids, staff=self._curates)
        self.forums = Forums(bot)
        self.facts = StudentFacts(uow_factory, catalog, self.t)
        self.topics = Topics(uow_factory, bot, self.facts.describe, clock.now, wake=wake)
        self.relay = Relay(self.chat_id, uow_factory, clock, self.forums, self.t, wake=wake)
        self.alerts = Alerts(
            self.chat_id, uow_factory, clock, settings.tz, self.t, self.facts, stall_reasons, wake=wake
        )
        self.digest = Digest(settings, self.t)
        self.topic_repair = TopicRepair(self.topics, wake=wake)
        # the names the app, the handlers and the tests use
        self.raise_alert = self.alerts.raise_alert
        self.raise_lead = self.alerts.raise_lead
        self.on_progress = self.alerts.on_progress
        self.press = self.alerts.press
        self.return_snoozed = self.alerts.return_snoozed
        self.queue_digest = self.digest.queue
        self.repair_topics = self.topic_repair.repair
        if self.chat_id is None:
            log.warning("CURATOR_CHAT_ID is not set: curator alerts, topics and /curator are off")

    @property
    def enabled(self) -> bool:
        return self.chat_id is not None

    async def _curates(self, user_id: int) -> bool:
        async with self._uow() as uow:
            return await self.staff.can(uow, user_id, Permission.CURATE)

    async def into_topic(self, session: AsyncSession, row: OutboxMessage, payload: AboutStudent) -> int | None:
        """The sender's before-hook for group messages: the thread to send into, when the group is a forum."""
        if not await self.forums.is_forum(row.chat_id):
            return None
        return await self.topics.ensure(row.chat_id, payload.curator_student)

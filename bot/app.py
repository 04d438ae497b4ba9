"""Wiring: settings → clock, journey, database, bot, dispatcher; and the long-running modes."""

import asyncio
import logging
from datetime import timedelta
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import BotCommand
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web
from sqlalchemy import text

from bot.api import ApiDeps, setup_api
from bot.broadcasts import BroadcastService
from bot.checkout_api import CheckoutApi
from bot.club import Club
from bot.curator import CuratorDesk
from bot.db.engine import create_engine, create_session_factory, update_slots
from bot.db.health import DatabaseHealth
from bot.db.migrations import is_up_to_date
from bot.db.uow import UnitOfWorkFactory
from bot.handlers import club_routers, errors, membership, staff_routers, student_routers
from bot.i18n import Translations
from bot.jobs import wire_jobs
from bot.middlewares import DatabaseGate, LanguageMiddleware, UpdateSlots
from bot.offer_links import REDIRECT_PATH, ClickLinks
from bot.offer_messages import OfferMessages
from bot.outbox.limiter import BulkLimiter
from bot.outbox.sender import OutboxSender
from bot.revenue import Ledger, StaffRefunds, StudentTokens
from bot.revenue.grants import Grants
from bot.revenue.offer_state import StoredOfferStates
from bot.revenue.products import products_of
from bot.revenue.stars import StarsCheckout
from bot.scheduler import Ticker
from bot.services.checkin_answers import CheckinAnswers
from bot.services.course_entry import CourseEntry
from bot.services.courses import Courses
from bot.services.engagement import Engagement
from bot.services.offer_presses import OfferPresses
from bot.services.offers import Offers
from bot.services.reachability import Reachability
from bot.services.staff import StaffDirectory
from bot.services.student_path import StudentPath
from bot.settings import Settings
from bot.signatures import same_secret
from bot.telegram_session import TelegramSession
from journeys.catalog import Catalog
from journeys.clock import Clock, make_clock
from journeys.journey import Journey
from journeys.loader import load_catalog

log = logging.getLogger(__name__)


class NotMigrated(Exception):
    pass


def make_bot(settings: Settings) -> Bot:
    assert settings.bot_token, "BOT_TOKEN is required"
    session = TelegramSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    return Bot(settings.bot_token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def make_storage(settings: Settings) -> BaseStorage:
    if settings.redis_url:
        from aiogram.fsm.storage.redis import RedisStorage  # needs the optional redis package

        return RedisStorage.from_url(settings.redis_url)
    return MemoryStorage()


class App:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        catalog: Catalog | None = None,
        bot: Bot | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or make_clock(settings.clock_speed)
        self.catalog = catalog or load_catalog(settings.catalog_paths)
        self.engine = create_engine(
            settings.database_url, pool_size=settings.database_pool_size, timeout=settings.database_timeout
        )
        self.health = DatabaseHealth(self.engine, timeout=settings.database_timeout)
        self.update_slots = update_slots(settings.database_url, settings.database_pool_size)
        self.uow = UnitOfWorkFactory(create_session_factory(self.engine))
        self.reachability = Reachability(self.uow, self.clock)
        self.translations = Translations()
        self.path = StudentPath(self.uow, self.catalog, self.clock, settings.tz)
        self.entry = CourseEntry(self.uow, self.path)
        self.courses = Courses(self.uow, self.path)
        self.staff = StaffDirectory(settings.admin_ids)
        self.ticker = Ticker(self.uow, self.clock, settings.scheduler_tick_seconds)
        self.bot = bot or make_bot(settings)
        self.sender = OutboxSender(
            self.uow,
            self.bot,
            self.clock,
            rate=settings.send_rate,
            lease=timedelta(seconds=settings.outbox_lease_seconds),
        )
        # the desk asks the engagement why a returning alert's student is stalled, and the engagement raises
        # alerts on the desk: the lambda looks the engagement up when a job runs, once both exist
        self.desk = CuratorDesk(
            settings,
            self.uow,
            self.bot,
            self.catalog,
            self.translations,
            self.clock,
            stall_reasons=lambda uow, enrollment, now: self.engagement.stall_reasons(uow, enrollment, now),
            wake=self.sender.wake,
        )
        self.engagement = Engagement(self.path, self.translations, desk=self.desk if self.desk.enabled else None)
        self.path.start_listeners.append(self.engagement)
        self.path.progress_listeners.append(self.engagement)
        self.path.progress_listeners.append(self.desk)  # progress resolves the student's alert
        # broadcasts: paced at BROADCAST_RATE; without paid mode they share the sender's free ~30/s
        shared = None if settings.allow_paid_broadcast else self.sender.limiter
        self.sender.pace_broadcasts(BulkLimiter(settings.broadcast_rate, shared))
        self.broadcasts = BroadcastService(
            self.uow,
            self.bot,
            self.clock,
            self.translations,
            settings.tz,
            self.journey,  # the wizard's tracks and survey answers are the default journey's
            rate=settings.broadcast_rate if shared is None else min(settings.broadcast_rate, settings.send_rate),
            paid=settings.allow_paid_broadcast,
            progress_seconds=settings.broadcast_progress_seconds,
        )
        # the ledger: the products it accepts, purchases kept for LMS students applied when they bind
        self.ledger = Ledger(self.clock, self.catalog.ids, products_of(self.catalog))
        self.entry.bind_listeners.append(self.ledger)
        self.tokens = StudentTokens(settings.api_secret) if settings.api_secret else None
        self.refunds = StaffRefunds(self.uow, self.ledger, self.bot, self.clock)
        # what purchases grant (journeys, mentor support, files, links), and paying in Telegram Stars
        self.grants = Grants(self.catalog, self.entry, self.translations, curator_chat_id=settings.curator_chat_id)
        self.ledger.purchase_listeners.append(self.grants)
        self.ledger.refund_listeners.append(self.grants)
        self.stars = StarsCheckout(
            self.uow, self.catalog, self.clock, self.ledger, StoredOfferStates(self.catalog), wake=self.sender.wake
        )
        # the graduate club: granted and revoked by the ledger, in the purchase's own transaction
        self.club = Club(settings, self.uow, self.bot, self.catalog, self.translations, self.clock)
        if self.club.enabled:
            self.ledger.purchase_listeners.append(self.club.access)
            self.ledger.refund_listeners.append(self.club.access)
        # offers and check-ins: after progress, completion and answers, and by time from the ticker
        self.links = ClickLinks(settings.api_secret or settings.bot_token or "", settings.public_url)
        offer_messages = OfferMessages(self.links, self.tokens)
        self.offers = Offers(self.catalog, self.translations, offer_messages, self.clock, wake=self.sender.wake)
        self.path.progress_listeners.append(self.offers)
        self.path.answer_listeners.append(self.offers)
        self.ledger.purchase_listeners.append(self.offers)  # what was bought is not offered again
        self.offer_presses = OfferPresses(self.uow, self.catalog, self.clock, self.desk if self.desk.enabled else None)
        self.checkin_answers = CheckinAnswers(self.uow, self.catalog, self.clock, self.offers)
        wire_jobs(
            self.ticker,
            self.sender,
            engagement=self.engagement,
            desk=self.desk,
            broadcasts=self.broadcasts,
            club=self.club,
            offers=self.offers,
        )
        self.dispatcher = self._dispatcher()

    def _dispatcher(self) -> Dispatcher:
        dp = Dispatcher(
            storage=make_storage(self.settings),
            path=self.path,
            entry=self.entry,
            courses=self.courses,
            clock=self.clock,
            desk=self.desk,
            broadcasts=self.broadcasts,
            refunds=self.refunds,
            club=self.club,
            offer_presses=self.offer_presses,
            checkin_answers=self.checkin_answers,
            stars=self.stars,
            staff=self.staff,
            uow_factory=self.uow,
            health=self.health,
            reachability=self.reachability,
            translations=self.translations,
        )
        # inside aiogram's error middleware, so what they raise reaches the error handler
        dp.update.outer_middleware(DatabaseGate(self.health))
        dp.update.outer_middleware(UpdateSlots(self.update_slots))
        language = LanguageMiddleware(self.translations)
        dp.message.middleware(language)
        dp.callback_query.middleware(language)
        dp.include_routers(errors.build_router(), membership.build_router(), *club_routers(self.settings.club_chat_id))
        dp.include_routers(*staff_routers(self.settings.curator_chat_id), *student_routers())
        return dp

    @property
    def journey(self) -> Journey:
        """The catalog's first journey: the one a plain /start enrolls in when it is the only one open."""
        return self.catalog.default

    async def check_database(self) -> None:
        if not await is_up_to_date(self.engine):
            raise NotMigrated("the database is not at the latest migration: run `journeybot migrate` first")

    async def ping_database(self) -> None:
        """One query on the engine in use: for /healthz, which must not trust DatabaseHealth's memory."""
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def set_commands(self) -> None:
        for language in ("ru", "en"):
            t = self.translations.get(language)
            commands = [
                BotCommand(command="start", description=t("Start or continue the course")),
                BotCommand(command="progress", description=t("My progress")),
                BotCommand(command="courses", description=t("My courses")),
                BotCommand(command="club", description=t("The graduate club")),
                BotCommand(command="help", description=t("What the bot can do")),
            ]
            await self.bot.set_my_commands(commands, language_code=None if language == "ru" else language)

    async def close(self) -> None:
        await self.dispatcher.storage.close()
        await self.bot.session.close()
        await self.health.close()
        await self.engine.dispose()

    def web_app(self) -> web.Application:
        """The HTTP side: integration API, health check and, in webhook mode, the webhook."""
        app = web.Application()
        deps = ApiDeps(
            uow=self.uow,
            clock=self.clock,
            catalog=self.catalog,
            path=self.path,
            bot=self.bot,
            ping_database=self.ping_database,
            api_secret=self.settings.api_secret,
        )
        checkout = CheckoutApi(self.uow, self.clock, self.ledger, self.tokens, self.journey.id)
        setup_api(app, deps, more=[checkout.register])
        app.router.add_get(REDIRECT_PATH + "{token}", self.learn_more)
        if self.settings.webhook_url:
            WebhookHandler(self.dispatcher, self.bot, secret_token=self.settings.webhook_secret).register(
                app, path=webhook_path(self.settings.webhook_url)
            )
            setup_application(app, self.dispatcher, bot=self.bot)
        return app

    async def learn_more(self, request: web.Request) -> web.StreamResponse:
        """An offer's Learn more: the click is recorded, the browser sent on to the offer's link."""
        click = self.links.read(request.match_info["token"])
        target = await self.offer_presses.click(click) if click else None
        if target is None:
            return web.Response(status=404, text="This link is not valid.")
        raise web.HTTPFound(target)


class WebhookHandler(SimpleRequestHandler):
    """aiogram's webhook handler, but a secret header with non-ASCII characters is a 401, not a 500."""

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        return not self.secret_token or same_secret(telegram_secret_token, self.secret_token)


def webhook_path(url: str) -> str:
    return urlsplit(url).path or "/"


async def serve(app: App, *, handle_signals: bool = True, stop: asyncio.Event | None = None) -> None:
    """`journeybot run`: polling (or webhook), the HTTP server, until stopped."""
    await app.check_database()
    me = await app.bot.get_me()
    log.info("running as @%s with journeys %s", me.username, ", ".join(app.catalog.ids))
    await app.set_commands()
    runner = web.AppRunner(app.web_app())
    await runner.setup()
    site = web.TCPSite(runner, app.settings.http_host, app.settings.http_port)
    await site.start()
    app.ticker.start()
    sender_stop = asyncio.Event()
    sender = asyncio.create_task(app.sender.run(sender_stop))
    progress = asyncio.create_task(app.broadcasts.progress.run(sender_stop))
    try:
        if app.settings.webhook_url:
            await app.bot.set_webhook(
                app.settings.webhook_url,
                secret_token=app.settings.webhook_secret,
                allowed_updates=app.dispatcher.resolve_used_update_types(),
            )
            await (stop or asyncio.Event()).wait()
        else:
            await app.bot.delete_webhook(drop_pending_updates=False)
            # the same bound as UpdateSlots, so polling also stops fetching (and confirming) while all are busy
            polling = app.dispatcher.start_polling(
                app.bot,
                handle_signals=handle_signals,
                close_bot_session=False,
                polling_timeout=25,
                tasks_concurrency_limit=app.update_slots,
            )
            if stop is None:
                await polling
            else:
                task = asyncio.create_task(polling)
                await stop.wait()
                await app.dispatcher.stop_polling()
                await task
    finally:
        await app.ticker.stop()
        sender_stop.set()  # no more claims; the message in flight is finished, the rest go back to the queue
        await sender
        await progress
        await runner.cleanup()

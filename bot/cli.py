"""The `journeybot` command."""

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from bot.settings import Settings, SettingsError, load_settings
from journeys.catalog import Catalog
from journeys.journey import Journey
from journeys.loader import JourneyError, JourneyIssue, catalog_files, check_catalog, load_catalog, load_journey

EXIT_USAGE = 2


def _fail(lines: Sequence[str], code: int = EXIT_USAGE) -> int:
    for line in lines:
        print(line, file=sys.stderr)
    return code


def _settings() -> Settings:
    return load_settings()


def cmd_validate(args: argparse.Namespace) -> int:
    """Each file on its own (a folder: its journey files); with --catalog, also all of them as one catalog:
    ids unique, `next:` and the like naming journeys among them."""
    problems: list[str] = []
    loaded: list[tuple[str, Journey]] = []
    files = catalog_files(args.files)
    for file in files:
        try:
            journey = load_journey(str(file))
        except JourneyError as exc:
            problems += map(str, exc.issues)
        except Exception as exc:  # a loader bug must not hide the other files' problems behind a traceback
            bug = f"could not be checked ({type(exc).__name__}: {exc}): a bug in journeybot, please report it"
            problems.append(str(JourneyIssue(str(file), "(document)", bug)))
        else:
            loaded.append((str(file), journey))
            tracks = ", ".join(f"{t} ({len(journey.steps_of(t))} steps)" for t in journey.spec.tracks)
            print(f"{file}: ok — {journey.title}; tracks: {tracks}")
    if not files:
        problems.append(str(JourneyIssue(", ".join(args.files), "(folder)", "no journey files (*.yaml) in it")))
    if args.catalog:
        problems += map(str, check_catalog(loaded))
    return _fail(problems) if problems else 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from alembic import command

    from bot.db.migrations import alembic_config

    settings = _settings()
    command.upgrade(alembic_config(settings.database_url), "head")
    print(f"database is at the latest migration ({_safe_url(settings.database_url)})")
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings()
    if not settings.bot_token:
        return _fail(["BOT_TOKEN: required to run the bot (the token @BotFather gave you)"])
    if settings.webhook_url and not settings.webhook_secret:
        return _fail(["WEBHOOK_SECRET: required with WEBHOOK_URL, so that only Telegram can call the webhook"])
    catalog = load_catalog(settings.catalog_paths)
    return asyncio.run(_run(settings, catalog))


async def _run(settings: Settings, catalog: Catalog) -> int:
    from bot.app import App, NotMigrated, serve

    app = App(settings, catalog=catalog)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await serve(app, handle_signals=False, stop=stop)
    except NotMigrated as exc:
        return _fail([f"journeybot: {exc}"], 1)
    finally:
        await app.close()
    return 0


def cmd_staff(args: argparse.Namespace) -> int:
    return asyncio.run(_staff(_settings(), args))


async def _staff(settings: Settings, args: argparse.Namespace) -> int:
    from bot.db.engine import create_engine, create_session_factory
    from bot.db.migrations import is_up_to_date
    from bot.db.models import Role
    from bot.db.uow import UnitOfWorkFactory
    from bot.services.staff import StaffDirectory, StaffError
    from journeys.clock import make_clock

    engine = create_engine(settings.database_url)
    try:
        if not await is_up_to_date(engine):
            return _fail(["journeybot: the database is not at the latest migration: run `journeybot migrate` first"], 1)
        staff, now = StaffDirectory(settings.admin_ids), make_clock(settings.clock_speed).now()
        async with UnitOfWorkFactory(create_session_factory(engine))() as uow:
            try:
                if args.staff_command == "add":
                    await staff.set_role(uow, args.telegram_id, Role(args.role), actor_id=None, now=now, name=args.name)
                    print(f"{args.telegram_id} is now {args.role}")
                elif args.staff_command == "remove":
                    if not await staff.remove(uow, args.telegram_id, actor_id=None, now=now):
                        return _fail([f"{args.telegram_id} is not on the staff"], 1)
                    print(f"{args.telegram_id} removed")
                else:
                    for admin_id in sorted(settings.admin_ids):
                        print(f"{admin_id}\tadmin\t(ADMIN_IDS)")
                    for member in await uow.staff.all():
                        print(f"{member.telegram_id}\t{member.role.value}\t{member.name or ''}")
            except StaffError as exc:
                return _fail([f"journeybot: {exc}"], 1)
            await uow.commit()
    finally:
        await engine.dispose()
    return 0


def cmd_refund(args: argparse.Namespace) -> int:
    settings = _settings()
    if not settings.bot_token:
        return _fail(["BOT_TOKEN: required to refund (Stars are refunded through Telegram)"])
    return asyncio.run(_refund(settings, args))


async def _refund(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import App, NotMigrated
    from bot.revenue.money import format_amount
    from bot.revenue.refunds import AlreadyRefunded, NoSuchPayment, RefundRecorded, TelegramRefused, WhichSource
    from journeys.purchases import PaymentSource

    app = App(settings)  # the same ledger and listeners as the running bot: the refund revokes the grant
    try:
        await app.check_database()
        source = PaymentSource(args.source) if args.source else None
        outcome = await app.refunds.refund(args.payment_id, source=source, actor_id=None)
    except NotMigrated as exc:
        return _fail([f"journeybot: {exc}"], 1)
    finally:
        await app.close()
    match outcome:
        case RefundRecorded(charge=charge, through_telegram=through_telegram):
            amount = format_amount(charge.amount, charge.currency)
            how = "through Telegram" if through_telegram else "recorded only: the school returns the money itself"
            print(
                f"refunded {charge.source.value} payment {charge.payment_id}: {amount} for {charge.product_id} ({how})"
            )
            return 0
        case NoSuchPayment():
            return _fail([f"journeybot: no payment {args.payment_id!r} in the ledger; nothing changed"], 1)
        case WhichSource():
            return _fail([f"journeybot: both a stars and a school payment have id {args.payment_id!r}: add --source"])
        case AlreadyRefunded():
            return _fail([f"journeybot: payment {args.payment_id!r} is already refunded; nothing changed"], 1)
        case TelegramRefused(reason=reason):
            return _fail([f"journeybot: Telegram refused the refund: {reason}; nothing recorded"], 1)
        case _:
            return _fail(["journeybot: Telegram did not answer; nothing recorded, try again later"], 1)


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return asyncio.run(run_demo(speed=args.speed, journey_file=args.journey))


def user_id(text: str) -> int:
    from bot.names import parse_id

    value = parse_id(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a Telegram user id (a number like 123456789)")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="journeybot", description="Telegram bot for the student journey")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the bot (polling, or webhook when WEBHOOK_URL is set)").set_defaults(
        func=cmd_run
    )
    commands.add_parser("migrate", help="bring the database to the latest migration").set_defaults(func=cmd_migrate)
    journey = commands.add_parser("journey", help="journey files").add_subparsers(dest="journey_command", required=True)
    validate = journey.add_parser("validate", help="check journey files and report every problem")
    validate.add_argument("files", nargs="+", help="journey files, or folders of them")
    validate.add_argument(
        "--catalog",
        action="store_true",
        help="also check them as one catalog (JOURNEYS): unique ids, next: and the like",
    )
    validate.set_defaults(func=cmd_validate)
    staff = commands.add_parser("staff", help="manage staff roles").add_subparsers(dest="staff_command", required=True)
    add = staff.add_parser("add", help="add a staff member or change their role")
    add.add_argument("telegram_id", type=user_id)
    add.add_argument("--role", choices=["admin", "care", "curator"], required=True)
    add.add_argument("--name", default=None)
    remove = staff.add_parser("remove", help="remove a staff member")
    remove.add_argument("telegram_id", type=user_id)
    staff.add_parser("list", help="list staff")
    for sub in (add, remove, staff.choices["list"]):
        sub.set_defaults(func=cmd_staff)
    refund = commands.add_parser("refund", help="refund a purchase: Stars through Telegram, school ones recorded")
    refund.add_argument("payment_id", help="telegram_payment_charge_id, or the school's payment_id")
    refund.add_argument("--source", choices=["stars", "school"], default=None)
    refund.set_defaults(func=cmd_refund)
    demo = commands.add_parser("demo", help="offline demo: the real bot against a Telegram stand-in")
    demo.add_argument("--speed", type=float, default=None, help="journey clock speed through quiet days")
    demo.add_argument("--journey", default=None, help="journey file (default: the shipped one)")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings_level = load_settings().log_level if args.command in ("run", "migrate") else "WARNING"
        logging.basicConfig(level=settings_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        if args.command != "migrate":
            logging.getLogger("alembic").setLevel(logging.WARNING)  # the start-up schema check is not news
        return int(args.func(args))
    except SettingsError as exc:
        return _fail([f"journeybot: configuration error: {problem}" for problem in exc.problems])
    except JourneyError as exc:
        return _fail([str(issue) for issue in exc.issues])
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

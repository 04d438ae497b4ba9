"""Settings from the environment and `.env`. The variable names are a public contract (README)."""

import re
from datetime import time
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# The source checkout, for tests and tools. Installed, this is site-packages: nothing read at run time lives here.
ROOT = Path(__file__).resolve().parent.parent
# The journeys that ship with the package (package data); a school keeps its own in config/journeys/.
SHIPPED_JOURNEYS = Path(__file__).resolve().parent / "journeys_shipped"
DEFAULT_JOURNEY = SHIPPED_JOURNEYS / "online_store.ru.yaml"
# the catalog a bot runs when neither JOURNEYS nor JOURNEY_FILE is set: the course and its paid next stage
DEFAULT_CATALOG = (DEFAULT_JOURNEY, SHIPPED_JOURNEYS / "online_store_growth.ru.yaml")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: str | None = Field(default=None, pattern=r"^\d+:[\w-]+$")
    telegram_api_url: str = "https://api.telegram.org"
    database_url: str = "sqlite+aiosqlite:///data/journeybot.db"
    # connections kept open to the database; updates are handled at most this many minus the background's share
    database_pool_size: int = Field(default=10, ge=5, le=1000)
    # how long a query waits for the database (a free connection, a new one, SQLite's write lock), in seconds
    database_timeout: float = Field(default=30.0, gt=0, le=600)
    # the catalog: folders (their *.yaml files) and files, comma-separated; JOURNEY_FILE is a catalog of one
    journeys: Annotated[tuple[Path, ...], NoDecode] = ()
    journey_file: Path | None = None
    curator_chat_id: int | None = None
    # the graduate club: a private supergroup where the bot may invite users and restrict members
    club_chat_id: int | None = None
    club_price_stars: int = Field(default=250, ge=1, le=10_000)  # a month, as a Stars subscription
    club_grace_days: int = Field(default=3, ge=0, le=60)
    club_renewal_reminder_days: int = Field(default=3, ge=1, le=29)
    club_winback_days: int = Field(default=14, ge=1, le=365)
    digest_time: str = "09:00"  # the curators' daily digest, local time in TIMEZONE
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    timezone: str = "Europe/Moscow"
    clock_speed: float = Field(default=1.0, gt=0, le=10_000_000, allow_inf_nan=False)
    scheduler_tick_seconds: float = Field(default=30.0, gt=0)
    send_rate: float = Field(default=25.0, gt=0)  # outbox messages per second, below Telegram's ~30
    # a claimed row whose sender went silent this long (real seconds) is taken over by another sender
    outbox_lease_seconds: float = Field(default=120.0, ge=5)
    allow_paid_broadcast: bool = False  # bulk rows go with allow_paid_broadcast (0.1 Star each), up to 1000/s
    broadcast_rate: float = Field(default=25.0, gt=0, le=1000)  # broadcast messages per second
    broadcast_progress_seconds: float = Field(default=3.0, gt=0)  # real seconds between progress edits
    webhook_url: str | None = Field(default=None, pattern=r"^https?://")
    webhook_secret: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,256}$")
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    api_secret: str | None = None
    # the bot's public address (behind the TLS proxy): offers' "Learn more" goes through its /r/ redirect
    public_url: str | None = Field(default=None, pattern=r"^https?://")
    redis_url: str | None = None
    log_level: str = "INFO"

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(int(part) for part in value.replace(" ", "").split(",") if part)
        return value

    @field_validator("journeys", mode="before")
    @classmethod
    def _split_paths(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(Path(part.strip()) for part in value.split(",") if part.strip())
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Moscow)") from None
        return value

    @model_validator(mode="after")
    def _free_broadcast_rate(self) -> "Settings":
        if self.broadcast_rate > 30 and not self.allow_paid_broadcast:
            raise ValueError("BROADCAST_RATE above 30 messages/s needs ALLOW_PAID_BROADCAST=true")
        return self

    @field_validator("digest_time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError("use HH:MM between 00:00 and 23:59, e.g. 09:00")
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("use DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value

    @property
    def catalog_paths(self) -> tuple[Path, ...]:
        """What the catalog is read from: JOURNEYS, else JOURNEY_FILE alone, else the shipped catalog."""
        if self.journeys:
            return self.journeys
        return (self.journey_file,) if self.journey_file is not None else DEFAULT_CATALOG

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def digest_at(self) -> time:
        return time.fromisoformat(self.digest_time)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


class SettingsError(Exception):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "settings"
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] == "string_pattern_mismatch":
                message = "has an invalid format"
            problems.append(f"{name}: {message}")
        raise SettingsError(problems) from None

"""Per-update context: the student's language and a renderer speaking it; and what every update passes first:
the database gate and the bound on how many updates are handled at once."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import TelegramObject, User

from bot.db.health import DatabaseHealth, DatabaseUnavailable
from bot.i18n import Translations
from bot.render import Renderer
from bot.services.student_path import Person, language_of

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def person_of(user: User) -> Person:
    return Person(
        telegram_id=user.id,
        first_name=user.first_name,
        last_name=user.last_name,
        username=user.username,
        language_code=user.language_code,
    )


class LanguageMiddleware(BaseMiddleware):
    def __init__(self, translations: Translations) -> None:
        self.translations = translations

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        bot: Bot = data["bot"]
        t = self.translations.get(language_of(user.language_code if user else None))
        data["t"] = t
        data["renderer"] = Renderer(bot, t)
        if user is not None:
            data["person"] = person_of(user)
        return await handler(event, data)


class DatabaseGate(BaseMiddleware):
    """While the database is down, updates go straight to the error handler instead of waiting on it."""

    def __init__(self, health: DatabaseHealth) -> None:
        self.health = health

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if self.health.down:
            raise DatabaseUnavailable
        return await handler(event, data)


class UpdateSlots(BaseMiddleware):
    """At most `slots` updates are handled at once, so each finds a free connection in the pool at once.

    Outer, for every update and whatever brings it (polling or webhook): a burst waits here, not in the pool,
    where waiting longer than the pool timeout fails the update."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._semaphore = asyncio.Semaphore(slots)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self._semaphore:
            return await handler(event, data)

"""The LMS integration API: signed enrollments and progress events, plus an unsigned health check."""

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from bot.db.models import ExternalIdentity, LmsEvent
from bot.db.uow import UnitOfWorkFactory
from bot.db.upsert import insert_ignore
from bot.services.course_entry import COURSE_LINK
from bot.services.student_path import StudentPath
from bot.signatures import same_secret
from journeys.catalog import Catalog
from journeys.clock import Clock

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
ExternalId = Annotated[str, Field(min_length=1, max_length=128)]


class EnrollmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_id: ExternalId
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
    journey: str | None = None


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: Annotated[str, Field(min_length=1, max_length=128)]
    external_id: ExternalId
    type: Literal["step_completed"]
    step_id: str
    journey: str | None = None  # needed only when the student is enrolled in several journeys with this step


def start_code() -> str:
    """A one-time start payload: 22 characters of A-Za-z0-9_-, never mistaken for a course link (c-...)."""
    while (code := secrets.token_urlsafe(16)).startswith(COURSE_LINK):
        pass
    return code


class BadRequest(Exception):
    """A client error with its JSON answer; raised anywhere in a handler."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status, self.body = status, body


def invalid(field: str, problem: str) -> BadRequest:
    return BadRequest(422, {"error": "invalid request", "fields": [{"field": field, "problem": problem}]})


def parse(model: type[M], raw: bytes) -> M:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # ValueError covers bad UTF-8 too
        data = None
    if not isinstance(data, dict):
        raise BadRequest(400, {"error": "malformed JSON"})
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = [
            {"field": ".".join(str(part) for part in error["loc"]) or "body", "problem": error["msg"]}
            for error in exc.errors()
        ]
        raise BadRequest(422, {"error": "invalid request", "fields": fields}) from None


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Client errors become their JSON answer; anything unexpected is the one and only 500."""
    try:
        return await handler(request)
    except BadRequest as exc:
        return web.json_response(exc.body, status=exc.status)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return web.json_response({"error": "internal error"}, status=500)


@dataclass(frozen=True)
class ApiDeps:
    """What the HTTP API uses of the bot, given explicitly rather than the whole App."""

    uow: UnitOfWorkFactory
    clock: Clock
    catalog: Catalog
    path: StudentPath  # applies LMS progress
    bot: Bot  # its username goes into the start link
    ping_database: Callable[[], Awaitable[None]]  # raises when the database does not answer: /healthz
    api_secret: str | None  # None: /api/v1 answers 503


class IntegrationApi:
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    @web.middleware
    async def signed(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.match_info.http_exception is not None:
            raise request.match_info.http_exception  # 404/405 say more than a signature complaint
        secret = self.deps.api_secret
        if not secret:
            return web.json_response({"error": "integration API is off: set API_SECRET"}, status=503)
        body = await request.read()  # cached: the handler reads the same bytes
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        given = request.headers.get("X-Signature", "").strip().lower()
        if not same_secret(given, expected):
            return web.json_response({"error": "bad signature"}, status=401)
        return await handler(request)

    async def enroll(self, request: web.Request) -> web.Response:
        data = parse(EnrollmentIn, await request.read())
        catalog = self.deps.catalog
        journey = catalog.default if data.journey is None else catalog.get(data.journey)
        if journey is None:
            raise invalid("journey", f"no journey {data.journey!r} here: this bot runs {', '.join(catalog.ids)}")
        try:  # before touching the database, so a Telegram outage leaves nothing half-done
            username = (await self.deps.bot.me()).username
        except TelegramAPIError as exc:
            log.warning("getMe failed: %s", exc)
            raise BadRequest(503, {"error": "Telegram is unavailable, retry later"}) from None
        async with self.deps.uow() as uow:
            # insert-ignore rather than check-then-add: two simultaneous enrollments create one identity
            created = await insert_ignore(
                uow.session,
                ExternalIdentity.__table__,  # type: ignore[arg-type]
                {
                    "source": "lms",
                    "external_id": data.external_id,
                    "name": data.name,
                    "journey_id": journey.id,
                    "start_code": start_code(),
                    "created_at": self.deps.clock.now(),
                },
                key=["source", "external_id", "journey_id"],
            )
            identity = await uow.identities.by_external_id(data.external_id, journey.id)
            assert identity is not None
            if not identity.name:  # created by a payment that came first (bot/checkout_api.py)
                identity.name = data.name
            await uow.commit()
        answer = {
            "external_id": identity.external_id,
            "journey": identity.journey_id,
            "start_link": f"https://t.me/{username}?start={identity.start_code}",
            "bound": identity.student_id is not None,
        }
        return web.json_response(answer, status=201 if created else 200)

    async def event(self, request: web.Request) -> web.Response:
        data = parse(EventIn, await request.read())
        catalog = self.deps.catalog
        if data.journey is not None and data.journey not in catalog:
            raise invalid("journey", f"no journey {data.journey!r} here: this bot runs {', '.join(catalog.ids)}")
        async with self.deps.uow() as uow:
            # FOR UPDATE (PostgreSQL; SQLite locks up front): a student binding at this very moment either
            # commits first, and we see them bound, or waits for us and then finds the event pending
            identities = await uow.identities.all_by_external_id(data.external_id, for_update=True)
            if not identities:
                raise BadRequest(404, {"error": "unknown external_id", "field": "external_id"})
            identity = self._identity_for(identities, data)
            stored = await uow.identities.record_event(
                {
                    "event_id": data.event_id,
                    "identity_id": identity.id,
                    "type": data.type,
                    "step_id": data.step_id,
                    "payload": data.model_dump(),
                    "received_at": self.deps.clock.now(),
                }
            )
            if not stored:
                return web.json_response({"event_id": data.event_id, "duplicate": True})
            await self.deps.path.apply_lms_progress(uow, identity)
            event: LmsEvent | None = await uow.identities.event(data.event_id)
            applied = event is not None and event.applied_at is not None
            await uow.commit()
        return web.json_response({"event_id": data.event_id, "duplicate": False, "applied": applied})

    def _identity_for(self, identities: list[ExternalIdentity], data: EventIn) -> ExternalIdentity:
        """The enrollment (identity) a step belongs to: the journey named, or the only one that has the step."""
        catalog = self.deps.catalog
        if data.journey is not None:
            identity = next((i for i in identities if i.journey_id == data.journey), None)
            if identity is None:
                raise invalid("journey", f"external_id {data.external_id!r} is not enrolled in {data.journey!r}")
            journey = catalog[data.journey]
            if journey.step(data.step_id) is None:
                raise invalid("step_id", f"no step {data.step_id!r} in journey {journey.id!r}")
            return identity
        having = [i for i in identities if (j := catalog.get(i.journey_id)) is not None and j.step(data.step_id)]
        if not having:
            enrolled = ", ".join(repr(i.journey_id) for i in identities)
            raise invalid("step_id", f"no step {data.step_id!r} in journey {enrolled}")
        if len(having) > 1:
            raise invalid("journey", f"step {data.step_id!r} is in several of the student's journeys: name one")
        return having[0]

    async def healthz(self, request: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(5):
                await self.deps.ping_database()
        except Exception as exc:  # whatever the reason, the answer is the same: not ready
            log.warning("health check failed: %r", exc)
            return web.json_response({"status": "database unavailable"}, status=503)
        return web.json_response({"status": "ok"})


def setup_api(
    web_app: web.Application, deps: ApiDeps, *, more: Sequence[Callable[[web.Application], None]] = ()
) -> None:
    """Mounts /api/v1 (signed) and /healthz on the bot's HTTP application; `more` add their own routes to
    /api/v1 (the checkout API), signed the same way."""
    api = IntegrationApi(deps)
    web_app.middlewares.append(json_errors)
    web_app.router.add_get("/healthz", api.healthz)
    v1 = web.Application(middlewares=[api.signed])
    v1.router.add_post("/enrollments", api.enroll)
    v1.router.add_post("/events", api.event)
    for register in more:
        register(v1)
    web_app.add_subapp("/api/v1", v1)
    if not deps.api_secret:
        log.warning("API_SECRET is not set: the integration API (/api/v1) answers 503")

"""The LMS integration API over real HTTP, on SQLite and (with TEST_DATABASE_URL) PostgreSQL."""

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.app import App
from bot.db.engine import create_engine
from bot.db.migrations import upgrade
from bot.db.models import LmsEvent
from bot.services.student_path import Person
from bot.settings import SHIPPED_JOURNEYS, Settings
from bot.standin import BotAPIStandIn

SECRET = "s3cret"
JOURNEY_FILE = SHIPPED_JOURNEYS / "example.en.yaml"  # journey id "python-basics"
STEP = "variables"


@pytest.fixture
async def api_standin() -> AsyncIterator[BotAPIStandIn]:
    server = BotAPIStandIn()
    await server.start()
    yield server
    await server.stop()


@dataclass
class Api:
    client: TestClient[Any, Any]
    app: App

    async def post(self, path: str, body: Any, *, secret: str | None = SECRET, **headers: str) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        if secret is not None:
            headers["X-Signature"] = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        return await self.client.post(path, data=raw, headers=headers)

    async def enroll(self, external_id: str = "lms-1", **extra: Any) -> Any:
        return await self.post("/api/v1/enrollments", {"external_id": external_id, "name": "Ann"} | extra)

    async def event(self, event_id: str, external_id: str = "lms-1", step_id: str = STEP) -> Any:
        body = {
            "event_id": event_id,
            "external_id": external_id,
            "type": "step_completed",
            "step_id": step_id,
        }
        return await self.post("/api/v1/events", body)


@asynccontextmanager
async def serving(database_url: str, standin: BotAPIStandIn, **overrides: Any) -> AsyncIterator[Api]:
    values: dict[str, Any] = {
        "bot_token": "123:abc",
        "database_url": database_url,
        "api_secret": SECRET,
        "telegram_api_url": standin.base_url,
        "journey_file": JOURNEY_FILE,
        "_env_file": None,
    }
    app = App(Settings(**values | overrides))
    try:
        await upgrade(app.engine)  # the fixture's databases come migrated; this one may not
        client = TestClient(TestServer(app.web_app()))
        await client.start_server()
        try:
            yield Api(client, app)
        finally:
            await client.close()
    finally:
        await app.close()


@pytest.fixture
async def api(database_url: str, api_standin: BotAPIStandIn) -> AsyncIterator[Api]:
    async with serving(database_url, api_standin) as running:
        yield running


async def lms_event_count(app: App) -> int:
    async with app.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(LmsEvent)) or 0)


def fields(body: dict[str, Any]) -> list[str]:
    return [item["field"] for item in body["fields"]]


async def test_signed_enrollment_returns_start_link_and_is_idempotent_per_external_id(api: Api) -> None:
    first = await api.enroll()
    assert first.status == 201
    body = await first.json()
    prefix = "https://t.me/journeybot_demo_bot?start="
    assert body["external_id"] == "lms-1" and body["bound"] is False
    assert body["start_link"].startswith(prefix)
    code = body["start_link"].removeprefix(prefix)
    assert 1 <= len(code) <= 64 and code.replace("-", "").replace("_", "").isalnum()

    again = await api.enroll(journey="python-basics")
    assert again.status == 200
    assert await again.json() == body
    other = await (await api.enroll("lms-2")).json()
    assert other["start_link"] != body["start_link"]


async def test_simultaneous_enrollments_create_one_identity(api: Api) -> None:
    answers = await asyncio.gather(*(api.enroll("lms-9") for _ in range(4)))
    assert sorted(r.status for r in answers) == [200, 200, 200, 201]
    assert len({(await r.json())["start_link"] for r in answers}) == 1


async def test_unsigned_and_wrongly_signed_requests_are_rejected(api: Api) -> None:
    body = {"external_id": "lms-1", "name": "Ann"}
    for response in (
        await api.post("/api/v1/enrollments", body, secret=None),
        await api.post("/api/v1/enrollments", body, secret="wrong"),
        await api.post("/api/v1/events", body, secret=None, **{"X-Signature": "sha256=zz"}),
    ):
        assert response.status == 401
        assert await response.json() == {"error": "bad signature"}


async def test_malformed_json_is_400(api: Api) -> None:
    for raw in (b"{not json", b"[1, 2]", b'"text"', b"", b"\xff\xfe", b"[" * 100_000):
        response = await api.post("/api/v1/enrollments", raw)
        assert response.status == 400, raw[:10]
        assert await response.json() == {"error": "malformed JSON"}


async def test_unknown_and_missing_fields_are_422_naming_the_field(api: Api) -> None:
    unknown = await api.enroll(role="admin")
    assert unknown.status == 422
    body = await unknown.json()
    assert body["error"] == "invalid request" and fields(body) == ["role"]

    missing = await api.post("/api/v1/enrollments", {"external_id": "lms-1"})
    assert missing.status == 422
    assert fields(await missing.json()) == ["name"]

    wrong_type = await api.post("/api/v1/enrollments", {"external_id": 5, "name": " "})
    assert sorted(fields(await wrong_type.json())) == ["external_id", "name"]


async def test_wrong_journey_is_422(api: Api) -> None:
    response = await api.enroll(journey="another-course")
    assert response.status == 422
    assert fields(await response.json()) == ["journey"]


async def test_event_for_unknown_external_id_is_404(api: Api) -> None:
    response = await api.event("e-1", external_id="nobody")
    assert response.status == 404
    assert await response.json() == {"error": "unknown external_id", "field": "external_id"}
    assert await lms_event_count(api.app) == 0


async def test_event_for_unknown_step_is_422(api: Api) -> None:
    await api.enroll()
    response = await api.event("e-1", step_id="no-such-step")
    assert response.status == 422
    assert fields(await response.json()) == ["step_id"]
    wrong_type = await api.post(
        "/api/v1/events", {"event_id": "e-2", "external_id": "lms-1", "type": "other", "step_id": STEP}
    )
    assert fields(await wrong_type.json()) == ["type"]
    assert await lms_event_count(api.app) == 0


async def test_event_recorded_twice_is_kept_once(api: Api) -> None:
    await api.enroll()
    first = await api.event("e-1")
    assert first.status == 200
    assert await first.json() == {"event_id": "e-1", "duplicate": False, "applied": False}
    second = await api.event("e-1")
    assert second.status == 200
    assert await second.json() == {"event_id": "e-1", "duplicate": True}
    assert await lms_event_count(api.app) == 1


async def test_simultaneous_identical_events_are_recorded_once(api: Api) -> None:
    await api.enroll()
    answers = await asyncio.gather(*(api.event("e-race") for _ in range(4)))
    bodies = [await r.json() for r in answers]
    assert [r.status for r in answers] == [200] * 4
    assert sorted(b["duplicate"] for b in bodies) == [False, True, True, True]
    assert await lms_event_count(api.app) == 1


async def test_event_before_binding_is_kept_and_applied_when_the_student_binds(api: Api) -> None:
    link = (await (await api.enroll()).json())["start_link"]
    code = link.split("?start=")[1]
    early = await (await api.event("e-1")).json()
    assert early == {"event_id": "e-1", "duplicate": False, "applied": False}

    # the student opens the link; they still have the survey ahead, but the completion is stored
    await api.app.entry.start(Person(telegram_id=5001, first_name="Ann"), payload=code)
    async with api.app.uow() as uow:
        student = await uow.students.by_telegram_id(5001)
        assert student is not None
        enrollment = await uow.enrollments.current(student.id, api.app.journey.id)
        assert enrollment is not None
        enrollment_id = enrollment.id
        assert await uow.enrollments.completed_steps(enrollment_id) == {STEP}
        assert await uow.identities.pending_events((await uow.identities.by_code(code)).id) == []  # type: ignore[union-attr]

    late = await (await api.event("e-2", step_id="setup")).json()
    assert late == {"event_id": "e-2", "duplicate": False, "applied": True}
    async with api.app.uow() as uow:
        assert await uow.enrollments.completed_steps(enrollment_id) == {STEP, "setup"}
    again = await api.enroll()
    assert again.status == 200
    assert await again.json() == {"external_id": "lms-1", "journey": "python-basics", "start_link": link, "bound": True}


async def test_healthz_reports_the_database(api: Api) -> None:
    response = await api.client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok"}

    working, api.app.engine = api.app.engine, create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        down = await api.client.get("/healthz")
    finally:
        await api.app.engine.dispose()
        api.app.engine = working
    assert down.status == 503
    assert await down.json() == {"status": "database unavailable"}


async def test_wrong_method_is_405(api: Api) -> None:
    response = await api.client.get("/api/v1/enrollments")
    assert response.status == 405


async def test_api_is_off_without_api_secret(api_standin: BotAPIStandIn, tmp_path: Path) -> None:
    async with serving(f"sqlite+aiosqlite:///{tmp_path}/t.db", api_standin, api_secret=None) as off:
        response = await off.enroll()
        assert response.status == 503
        assert await response.json() == {"error": "integration API is off: set API_SECRET"}
        assert (await off.client.get("/healthz")).status == 200

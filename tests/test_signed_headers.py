"""Secret and signature headers carrying anything at all: a wrong one is a 401, never a 500."""

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from bot.app import App
from bot.db.migrations import upgrade
from bot.standin import BotAPIStandIn
from tests.conftest import make_settings

HOOK, SECRET, API_SECRET = "/telegram/hook", "hook-secret", "api-secret"
# as they arrive on the wire: Cyrillic and emoji in UTF-8, bytes that are not UTF-8, our secret with a tail
ODD_VALUES = ["сек-рет".encode(), "🔑".encode(), b"\xff\xfe\x80", b"hook-secret\xc3\xa9", b"\xd0" * 4000]


@asynccontextmanager
async def http_server(tmp_path: Path, standin: BotAPIStandIn) -> AsyncIterator[TestServer]:
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path}/hook.db",
        standin,
        webhook_url=f"https://bot.school.example{HOOK}",
        webhook_secret=SECRET,
        api_secret=API_SECRET,
    )
    app = App(settings)
    await upgrade(app.engine)
    server = TestServer(app.web_app())
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()
        await app.close()


async def post(server: TestServer, path: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    """A POST written byte by byte: HTTP clients refuse to send the header values we test with."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    lines = [b"POST " + path.encode() + b" HTTP/1.1", b"Host: localhost", b"Content-Type: application/json"]
    lines += [b"Content-Length: " + str(len(body)).encode(), b"Connection: close"]
    lines += [name + b": " + value for name, value in headers]
    writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return int(status_line.split()[1])


def update(text: str) -> bytes:
    message = {"message_id": 1, "date": 0, "chat": {"id": 1001, "type": "private"}, "text": text}
    message["from"] = {"id": 1001, "is_bot": False, "first_name": "Alice", "language_code": "en"}
    return json.dumps({"update_id": 1, "message": message}).encode()


async def test_webhook_answers_401_to_any_wrong_secret_header(
    tmp_path: Path, standin: BotAPIStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    standin.user(1001, "Alice", language_code="en")
    async with http_server(tmp_path, standin) as server:
        for value in ODD_VALUES:
            assert await post(server, HOOK, update("/help"), [(b"X-Telegram-Bot-Api-Secret-Token", value)]) == 401
        assert standin.calls_to("sendMessage") == []
        # the right secret still gets through
        assert await post(server, HOOK, update("/help"), [(b"X-Telegram-Bot-Api-Secret-Token", SECRET.encode())]) == 200
        await standin.wait_for(lambda: standin.calls_to("sendMessage"), what="the answer to /help")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_integration_api_answers_401_to_any_wrong_signature_header(
    tmp_path: Path, standin: BotAPIStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps({"external_id": "lms-1", "name": "Ann"}).encode()
    right = ("sha256=" + hmac.new(API_SECRET.encode(), body, hashlib.sha256).hexdigest()).encode()
    async with http_server(tmp_path, standin) as server:
        for path in ("/api/v1/enrollments", "/api/v1/events"):
            for value in [*ODD_VALUES, right + "é".encode(), right.upper() + b"\xff"]:
                assert await post(server, path, body, [(b"X-Signature", value)]) == 401
        assert await post(server, "/api/v1/enrollments", body, [(b"X-Signature", right)]) == 201
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []

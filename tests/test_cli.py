"""The `journeybot` command as an operator meets it: a subprocess in an empty directory with a clean
environment. Mistakes end with exit code 2 and plain lines on stderr, never a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.db.engine import create_engine
from bot.db.migrations import is_up_to_date
from bot.settings import SHIPPED_JOURNEYS, Settings

JOURNEYS = SHIPPED_JOURNEYS
SHIPPED = sorted(JOURNEYS.glob("*.yaml"))
TOKEN = "123:abc"
# a closed local port: if `run` talked to Telegram before checking the database it would fail here
NO_TELEGRAM = "http://127.0.0.1:9"


def clean_env() -> dict[str, str]:
    ours = {name.upper() for name in Settings.model_fields} | {"TEST_DATABASE_URL"}
    return {key: value for key, value in os.environ.items() if key.upper() not in ours}


def journeybot(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=clean_env() | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_clean_failure(result: subprocess.CompletedProcess[str], code: int = 2) -> list[str]:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr.splitlines()


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


# --- journey validate ---------------------------------------------------------------------------------


def test_validate_checks_a_catalog_across_its_files(tmp_path: Path) -> None:
    copy = tmp_path / "copy.yaml"
    copy.write_text((JOURNEYS / "online_store.ru.yaml").read_text())
    shipped = [str(JOURNEYS / "online_store.ru.yaml"), str(JOURNEYS / "online_store_growth.ru.yaml")]
    assert journeybot(tmp_path, "journey", "validate", "--catalog", *shipped).returncode == 0
    alone = journeybot(tmp_path, "journey", "validate", "--catalog", str(JOURNEYS / "online_store.ru.yaml"), str(copy))
    assert alone.returncode == 2
    lines = alone.stderr.splitlines()
    assert lines[0] == f"{copy}:id:journey id 'online-store' is also the id of {JOURNEYS / 'online_store.ru.yaml'}"
    for file in (JOURNEYS / "online_store.ru.yaml", copy):  # every reference to the missing next stage, per file
        assert f"{file}:next:unknown journey 'online-store-growth': it is not in the catalog" in lines
        assert (
            f"{file}:routing.rules[0].not_a_fit.journey:unknown journey 'online-store-growth': it is not in the catalog"
            in lines
        )
    assert all("online-store-growth" in line for line in lines[1:])


def test_validate_accepts_the_shipped_journeys(tmp_path: Path) -> None:
    result = journeybot(tmp_path, "journey", "validate", *map(str, SHIPPED))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    for path in SHIPPED:
        assert f"{path}: ok" in result.stdout


def test_validate_reports_every_problem_of_a_bad_file(tmp_path: Path) -> None:
    document = yaml.safe_load(SHIPPED[0].read_text(encoding="utf-8"))
    document["pace"] = "3 days"
    document["tracks"]["novice"]["stepz"] = []
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")

    result = journeybot(tmp_path, "journey", "validate", str(SHIPPED[0]), str(bad))

    assert sorted(assert_clean_failure(result)) == sorted(
        [
            f"{bad}:pace:'3 days' is not a duration: write it as 90s, 30m, 2h, 3d or 1w",
            f"{bad}:tracks.novice.stepz:unknown key",
        ]
    )
    assert f"{SHIPPED[0]}: ok" in result.stdout  # the good file is still checked


def test_validate_reports_invalid_yaml_and_missing_files(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("format: 1\nid: [unclosed\n", encoding="utf-8")
    missing = tmp_path / "missing.yaml"

    lines = assert_clean_failure(journeybot(tmp_path, "journey", "validate", str(broken), str(missing)))

    assert len(lines) == 2
    assert lines[0].startswith(f"{broken}:line ")
    assert "invalid YAML" in lines[0]
    assert lines[1] == f"{missing}:(file):No such file or directory"


def test_validate_reports_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    windows = tmp_path / "cp1251.yaml"
    windows.write_bytes(SHIPPED[1].read_text(encoding="utf-8").encode("cp1251", errors="replace"))
    (line,) = assert_clean_failure(journeybot(tmp_path, "journey", "validate", str(windows)))
    assert line.startswith(f"{windows}:(file):")


# --- settings -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [("TIMEZONE", "Mars/Base"), ("CLOCK_SPEED", "abc"), ("DATABASE_URL", "mysql://x")],
)
def test_invalid_setting_is_named_without_a_traceback(tmp_path: Path, variable: str, value: str) -> None:
    (line,) = assert_clean_failure(journeybot(tmp_path, "run", **{variable: value}))
    assert line.startswith(f"journeybot: configuration error: {variable}: ")


def test_infinite_clock_speed_is_a_configuration_error(tmp_path: Path) -> None:
    (line,) = assert_clean_failure(journeybot(tmp_path, "run", BOT_TOKEN=TOKEN, CLOCK_SPEED="inf"))
    assert line.startswith("journeybot: configuration error: CLOCK_SPEED: ")


def test_every_invalid_setting_gets_its_own_line(tmp_path: Path) -> None:
    result = journeybot(tmp_path, "migrate", TIMEZONE="Mars/Base", CLOCK_SPEED="abc", DATABASE_URL="mysql://x")
    lines = assert_clean_failure(result)
    assert len(lines) == 3
    named = {line.removeprefix("journeybot: configuration error: ").split(":")[0] for line in lines}
    assert named == {"TIMEZONE", "CLOCK_SPEED", "DATABASE_URL"}
    assert any("Mars/Base" in line for line in lines)


def test_run_without_bot_token(tmp_path: Path) -> None:
    lines = assert_clean_failure(journeybot(tmp_path, "run"))
    assert len(lines) == 1
    assert lines[0].startswith("BOT_TOKEN:")
    assert not (tmp_path / "data").exists()  # nothing was created on the way out


def test_run_on_an_unmigrated_database_asks_for_migrate_before_calling_telegram(tmp_path: Path) -> None:
    database = tmp_path / "empty.db"
    database.touch()

    result = journeybot(
        tmp_path,
        "run",
        BOT_TOKEN=TOKEN,
        DATABASE_URL=sqlite_url(database),
        TELEGRAM_API_URL=NO_TELEGRAM,
    )

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "journeybot migrate" in result.stderr
    assert "127.0.0.1:9" not in result.stderr


async def test_migrate_brings_an_empty_database_up_to_date(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "db" / "journeybot.db")

    result = journeybot(tmp_path, "migrate", DATABASE_URL=url)

    assert result.returncode == 0, result.stderr
    assert "latest migration" in result.stdout
    engine = create_engine(url)
    try:
        assert await is_up_to_date(engine)  # the check `run` makes before it starts
    finally:
        await engine.dispose()


def test_migrate_twice_is_harmless(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "journeybot.db")
    assert journeybot(tmp_path, "migrate", DATABASE_URL=url).returncode == 0
    second = journeybot(tmp_path, "migrate", DATABASE_URL=url)
    assert second.returncode == 0, second.stderr

"""The package as a user installs it: the wheel into a plain fresh venv, run from a folder that is not the
repository. Everything the commands need at run time (shipped journeys, migrations, translations) must be
inside the wheel; nothing may be looked up next to site-packages or in the current folder."""

import os
import shutil
import sqlite3
import subprocess
import sys
import venv
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from bot.db.migrations import MIGRATIONS_DIR, alembic_config, head_revisions
from bot.settings import Settings

SOURCE = Path(__file__).resolve().parent.parent
# what a clean checkout would not have: local state and earlier builds (a stale build/ leaks into a wheel)
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "data", ".env", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)


def user_env() -> dict[str, str]:
    """The user's shell: none of our settings, no test database, nothing pointing into this checkout."""
    ours = {name.upper() for name in Settings.model_fields} | {"TEST_DATABASE_URL"}
    unrelated = ours | {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    return {key: value for key, value in os.environ.items() if key.upper() not in unrelated}


def run(command: list[str | Path], cwd: Path, timeout: float, **env: str) -> str:
    result = subprocess.run(
        command, cwd=cwd, env=user_env() | env, capture_output=True, text=True, timeout=timeout, check=False
    )
    # the error first; of the output (the demo's transcript is long) the end, where it stopped
    stdout_tail = "\n".join(result.stdout.splitlines()[-30:])
    assert result.returncode == 0, f"{command} exited {result.returncode}\n{result.stderr}\n…\n{stdout_tail}"
    return result.stdout


def build_wheel(tmp_path: Path) -> Path:
    source, dist = tmp_path / "source", tmp_path / "dist"
    shutil.copytree(SOURCE, source, ignore=NOT_SOURCE)
    # built as `pip install .` builds it: in isolation, with the setuptools pyproject.toml asks for
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, source]
    run(pip_wheel, tmp_path, timeout=300)
    (wheel,) = dist.glob("journeybot-*.whl")
    return wheel


def test_installed_wheel_validates_migrates_and_runs_the_demo_from_an_unrelated_folder(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)  # plain: no system site-packages, not this checkout
    python, journeybot = env_dir / "bin" / "python", env_dir / "bin" / "journeybot"
    school = tmp_path / "school"
    school.mkdir()
    # --no-compile: byte-compiling every dependency at install took a good part of the test; Python compiles
    # what the commands import when they import it
    run([python, "-m", "pip", "install", "-q", "--no-compile", wheel], school, timeout=600)

    # the commands import the installed copy, and its default journey lies inside it
    locate = "import bot, bot.settings as s; print(bot.__file__); print(s.DEFAULT_JOURNEY)"
    where = run([python, "-c", locate], school, timeout=60)
    package_file, default_journey = (Path(line) for line in where.splitlines())
    assert package_file.is_relative_to(env_dir), package_file
    assert default_journey.is_relative_to(env_dir), default_journey

    # the shipped journeys, and a school's own one in config/journeys/ next to where it runs the bot
    shipped = sorted(default_journey.parent.glob("*.yaml"))
    assert default_journey in shipped
    own = school / "config" / "journeys" / "school.yaml"
    own.parent.mkdir(parents=True)
    shutil.copy(default_journey, own)
    validated = run([journeybot, "journey", "validate", *shipped, "config/journeys/school.yaml"], school, 60)
    assert validated.count(": ok") == len(shipped) + 1, validated

    database = school / "school.db"
    run([journeybot, "migrate"], school, 120, DATABASE_URL=f"sqlite+aiosqlite:///{database}")
    with sqlite3.connect(database) as connection:
        assert {row[0] for row in connection.execute("SELECT version_num FROM alembic_version")} == head_revisions()

    # the demo runs the shipped journey in Russian: the step counter is a translated system text. Quiet days pass
    # at four a second (--speed), not one: the wait for the next cohort (up to five weeks) took most of this test;
    # test_demo runs the story at the default speed
    demo = run([journeybot, "demo", "--speed", "345600"], school, timeout=300)
    assert "Шаг 1 из" in demo
    assert "── summary" in demo


def test_alembic_ini_and_the_program_read_the_same_single_migrations_folder() -> None:
    # CI's plain `alembic upgrade head`/`alembic check` and `journeybot migrate` must not drift apart
    from_ini = ScriptDirectory.from_config(Config(SOURCE / "alembic.ini"))
    from_code = ScriptDirectory.from_config(alembic_config())
    assert Path(from_ini.dir).resolve() == Path(from_code.dir).resolve() == MIGRATIONS_DIR
    assert from_code.versions == str(MIGRATIONS_DIR / "versions")
    assert not (SOURCE / "migrations").exists()

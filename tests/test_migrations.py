"""The schema on both backends: migrations go up and down cleanly and describe exactly the models."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import create_engine
from bot.db.migrations import current_revisions, downgrade, head_revisions, is_up_to_date, upgrade
from bot.db.models import Base


@pytest.fixture
async def engine(empty_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(empty_database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


def schema_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={"compare_type": True, "render_as_batch": connection.dialect.name == "sqlite"},
    )
    return compare_metadata(context, Base.metadata)


async def test_empty_database_is_not_up_to_date(engine: AsyncEngine) -> None:
    assert await current_revisions(engine) == set()
    assert not await is_up_to_date(engine)


async def test_upgrade_from_empty_reaches_head(engine: AsyncEngine) -> None:
    await upgrade(engine)
    assert await is_up_to_date(engine)
    assert await current_revisions(engine) == head_revisions()
    assert await table_names(engine) == set(Base.metadata.tables) | {"alembic_version"}


async def test_downgrade_to_base_leaves_only_alembic_version_and_upgrade_works_again(
    engine: AsyncEngine,
) -> None:
    await upgrade(engine)
    await downgrade(engine, "base")
    assert await table_names(engine) == {"alembic_version"}
    assert not await is_up_to_date(engine)

    await upgrade(engine)
    assert await is_up_to_date(engine)
    assert await table_names(engine) == set(Base.metadata.tables) | {"alembic_version"}


async def test_models_and_migrations_describe_the_same_schema(engine: AsyncEngine) -> None:
    await upgrade(engine)
    async with engine.connect() as conn:
        diff = await conn.run_sync(schema_diff)
    assert diff == []


async def test_sqlite_connections_enforce_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/fk.db")
    try:
        async with engine.begin() as conn:
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1
            await conn.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
            await conn.execute(text("CREATE TABLE child (parent_id INTEGER REFERENCES parent (id))"))
        await engine.dispose()  # the next connection is a new one, set up by the engine again
        with pytest.raises(IntegrityError, match="FOREIGN KEY constraint failed"):
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO child (parent_id) VALUES (42)"))
    finally:
        await engine.dispose()

"""INSERT ... ON CONFLICT DO NOTHING on both backends: the idempotency primitive."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_ignore_many(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], *, key: list[str]
) -> int:
    """Inserts the rows whose `key` is not taken yet, in one statement; returns how many were inserted."""
    if not rows:
        return 0
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(table).values(list(rows)).on_conflict_do_nothing(index_elements=key)
    result = await session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def insert_ignore(session: AsyncSession, table: Table, values: dict[str, Any], *, key: list[str]) -> bool:
    """Insert a row unless one with the same `key` exists. Returns True when this call inserted it."""
    return await insert_ignore_many(session, table, [values], key=key) == 1

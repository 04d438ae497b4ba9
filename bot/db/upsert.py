"""INSERT ... ON CONFLICT DO NOTHING on both backends: the idempotency primitive."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_ignore_many(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], *, key: list[str]
) -> int:
    """Inserts the rows whose `key` is not taken yet; returns how many were inserted.

    The rows go as parameters of one cached statement, which SQLAlchemy sends as multi-row INSERTs
    ("insertmanyvalues"); a statement with the rows inlined as VALUES would be compiled anew on every call,
    which costs more than the insert itself for a broadcast's batch of thousands. RETURNING counts the rows
    that went in, since a conflict returns nothing and executemany has no reliable rowcount.
    """
    if not rows:
        return 0
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(table).on_conflict_do_nothing(index_elements=key).returning(*table.primary_key.columns)
    result = await session.execute(statement, list(rows))
    return len(result.all())


async def insert_ignore(session: AsyncSession, table: Table, values: dict[str, Any], *, key: list[str]) -> bool:
    """Insert a row unless one with the same `key` exists. Returns True when this call inserted it."""
    return await insert_ignore_many(session, table, [values], key=key) == 1

"""INSERT ... ON CONFLICT DO NOTHING on both backends: the idempotency primitive."""

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_ignore(session: AsyncSession, table: Table, values: dict[str, Any], *, key: list[str]) -> bool:
    """Insert a row unless one with the same `key` exists. Returns True when this call inserted it."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(table).values(**values).on_conflict_do_nothing(index_elements=key)
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]

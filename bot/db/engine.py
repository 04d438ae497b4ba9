"""Engine and session factory for SQLite (embedded default) and PostgreSQL."""

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

# Connections the bot's own background work holds at once: a scheduler tick, the sender and its group
# commit, a broadcast's progress edits. Update handling gets the rest of the pool (see `update_slots`).
BACKGROUND_CONNECTIONS = 4


def update_slots(url: str, pool_size: int) -> int:
    """How many updates are handled at once: each holds at most one connection, the background keeps its share.

    SQLite has one writer: more updates at once only wait for its lock in turn (busy-polling, unfairly; with
    6 at once some waited past the timeout), so they go one at a time there."""
    if make_url(url).get_backend_name() == "sqlite":
        return 1
    return max(1, pool_size - BACKGROUND_CONNECTIONS)


def create_engine(url: str, *, pool_size: int = 10, timeout: float = 30.0, **kwargs: Any) -> AsyncEngine:
    """`pool_size` connections stay open, half as many again for bursts (the API, health checks); every wait
    for the database (a pooled connection, connecting, SQLite's write lock) gives up after `timeout` seconds."""
    parsed = make_url(url)
    pool = {"pool_size": pool_size, "max_overflow": pool_size // 2, "pool_timeout": timeout}
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True, connect_args={"timeout": timeout}, **pool, **kwargs)

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # one writer at a time: every transaction takes the write lock up front (below) and waits for it `timeout` s
    engine = create_async_engine(url, connect_args={"timeout": timeout}, **pool, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # let SQLAlchemy emit BEGIN itself (below) instead of the driver's lazy deferred BEGIN
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A deferred transaction that reads and then writes fails at once with SQLITE_BUSY when another
        # connection wrote in between; taking the write lock up front makes writers queue instead.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)

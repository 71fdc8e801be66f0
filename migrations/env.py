"""Alembic environment: runs migrations through psycopg against the app's database.

Synchronous on purpose: the job queue's schema is multi-statement DDL that asyncpg's prepared
statements cannot run, and migrations gain nothing from async.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from app.core.db import ENGINE_OPTIONS, Base, sync_url
from app.models import load_all_models

load_all_models()
target_metadata = Base.metadata
config = context.config


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Leave the job queue's own tables to its migrations."""
    return not (type_ == "table" and name is not None and name.startswith("procrastinate_"))


def run_migrations_offline() -> None:
    context.configure(url=sync_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, include_name=include_name)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(sync_url(), poolclass=pool.NullPool, **ENGINE_OPTIONS)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, include_name=include_name)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

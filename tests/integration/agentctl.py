"""Running agentctl in tests: typer's CliRunner on a private database engine.

The commands run their own event loop (asyncio.run), so the tests that use them are plain sync
functions. Each test gets a private engine (``cli`` fixture): the process-wide one may already hold
connections of the async tests' loop, which must not be reused from the CLI's loop. No need to import
names: the root conftest registers this module as a plugin, so ``cli`` is available everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner, Result

from app.cli import common as cli_module
from app.cli.main import app as agentctl


class Cli:
    """Runs agentctl commands; ``ok`` asserts success, ``fails`` asserts a clean exit code 1."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def invoke(self, *args: str) -> Result:
        return self.runner.invoke(agentctl, list(args), catch_exceptions=False)

    def ok(self, *args: str) -> str:
        result = self.invoke(*args)
        assert result.exit_code == 0, (args, result.output)
        return result.output

    def fails(self, *args: str) -> str:
        result = self.invoke(*args)
        assert result.exit_code == 1, (args, result.exit_code, result.output)
        assert "Traceback" not in result.output
        return result.output


@pytest.fixture
def cli(migrated: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    import app.conversations.service as conversation_service
    import app.core.db as db
    import app.flows.conversation as flows

    @lru_cache
    def engine() -> AsyncEngine:
        return create_async_engine(db.async_url(), poolclass=NullPool)

    @lru_cache
    def sessionmaker() -> async_sessionmaker[AsyncSession]:
        return async_sessionmaker(engine(), expire_on_commit=False)

    for module in (db, flows, conversation_service):
        if hasattr(module, "get_engine"):
            monkeypatch.setattr(module, "get_engine", engine)
    monkeypatch.setattr(db, "get_sessionmaker", sessionmaker)
    # Rich wraps at 80 columns without a terminal; ids and JSON must stay on one line.
    monkeypatch.setattr(cli_module.console, "width", 400)
    monkeypatch.setattr(cli_module.err, "width", 400)
    yield Cli()

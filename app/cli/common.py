"""What every agentctl command shares: the consoles, running a coroutine, and argument validators."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console

console = Console()
err = Console(stderr=True)
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def run(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine, turning domain errors into a clean message and exit code 1."""
    # lazy: SQLAlchemy and FastAPI (under the engine and the errors) cost ~1 s; --help needs neither
    from app.core.db import dispose_engine
    from app.core.errors import DomainError

    async def main() -> T:
        try:
            return await factory()
        finally:
            await dispose_engine()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        if exc.details:
            err.print(json.dumps(exc.details, ensure_ascii=False, default=str))
        raise typer.Exit(1) from None


def fail(message: str, *, code: int = 2) -> typer.Exit:
    """Print a usage error and return the exit to raise."""
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


def as_uuid(value: str) -> uuid.UUID:
    """The id given on the command line, or exit 2 when it is not one."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise fail(f"not an id: {value}") from None


def validated(model: type[M], data: dict[str, Any]) -> M:
    """``data`` checked by ``model``, or every problem printed and exit 2."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for e in exc.errors():
            err.print(f"[red]error:[/red] {'.'.join(str(x) for x in e['loc'])}: {e['msg']}")
        raise typer.Exit(2) from None

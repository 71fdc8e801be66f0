"""Group commit: one statement's concurrent calls sent together, in one round trip and one commit.

The webhook's ingest is one statement per message. When Twilio delivers an opening burst (fifty customers
writing at once), fifty separate autocommits cost fifty round trips, fifty commits (WAL flushes) and fifty
pool checkouts, and the last webhook of the burst waits behind all of them. ``GroupedStatement`` sends
the first call at once, alone; the calls that arrive while it is in flight wait for it and then go
together, pipelined on one connection with a single Sync (PostgreSQL runs them in one implicit
transaction: all commit at once). Under light load nothing waits: every group is a single call.

A statement may also have a set form (``together``): the whole group as one execution, every parameter
``$k`` a ``text[]`` of the group's k-th arguments as text (NULL for None), which the set form casts. For
an insert-heavy statement that is markedly cheaper for the server than one execution per call (one
plan, one pass per table); it must give the calls the same rows, one each, in the group's order, as the
pipelined executions would. (Text arrays, because the driver must look up the codec of any other array
type, such as ``uuid[]``, on each new connection: a query that costs more than the group saves.)

- Each call gets its own row back (the statement must return exactly one row per execution).
- A group is all or nothing at the server. When the server refuses it (a constraint, a deadlock), every
  call in it is retried alone, so one bad call fails alone and the others are kept.
- When the database is unreachable, every call in the group gets that error (the webhook spools them).
- ``order`` sorts a group before it is sent, so concurrent groups (several API processes) take their row
  locks in one order and cannot deadlock; calls with equal keys keep their arrival order.
- The group is sent by a task of its own: a caller that gives up (its timeout) abandons only its wait,
  never the other callers' group.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Final

from app.core.db import database_unreachable, fetch_all_autocommit, fetch_many_autocommit, fetch_one_autocommit

log = logging.getLogger(__name__)

MAX_GROUP: Final = 64  # calls per round trip; a longer queue goes in several groups, one after another


class GroupedStatement:
    """One SQL statement (driver ``$1`` parameters) whose concurrent calls share round trips and commits."""

    def __init__(
        self, sql: str, *, order: Callable[[tuple[Any, ...]], Any] | None = None, together: str | None = None
    ) -> None:
        self.sql = sql
        self.order = order
        self.together = together
        self._waiting: list[tuple[tuple[Any, ...], asyncio.Future[Any]]] = []
        self._sender: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.groups = 0  # round trips made (for tests and benchmarks)
        self.calls = 0

    async def fetch_one(self, *args: Any) -> Any:
        """The statement's row for ``args`` (an asyncpg Record), committed when this returns."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests, agentctl): nothing of the old one carries over
            self._loop, self._waiting, self._sender = loop, [], None
        future: asyncio.Future[Any] = loop.create_future()
        self._waiting.append((args, future))
        if self._sender is None or self._sender.done():
            self._sender = loop.create_task(self._send_all(), name="group-commit")
        return await future

    async def _send_all(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
            group = [(args, future) for args, future in group if not future.done()]
            if not group:
                continue
            if self.order is not None and len(group) > 1:
                order = self.order
                group.sort(key=lambda call: order(call[0]))
            self.groups += 1
            self.calls += len(group)
            try:
                await self._send(group)
            except BaseException as exc:  # never leave a caller waiting on a group that died
                for _args, future in group:
                    if not future.done():
                        future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise

    async def _send(self, group: list[tuple[tuple[Any, ...], asyncio.Future[Any]]]) -> None:
        if len(group) == 1:
            await self._one(*group[0])
            return
        try:
            rows = await self._fetch_group([args for args, _future in group])
        except Exception as exc:
            if database_unreachable(exc):
                raise
            log.warning("a group of %d was refused (%s): each is sent alone", len(group), type(exc).__name__)
            for call in group:
                await self._one(*call)
            return
        if len(rows) != len(group):
            raise RuntimeError(f"grouped statement returned {len(rows)} rows for {len(group)} calls")
        for (_args, future), row in zip(group, rows, strict=True):
            if not future.done():
                future.set_result(row)

    async def prepare(self, driver: Any, args: tuple[Any, ...]) -> None:
        """Run the statement and its set form once for ``args`` on ``driver`` (an asyncpg connection), so the
        driver has planned both on that connection. ``args`` must be a call that changes nothing."""
        await driver.fetch(self.sql, *args)
        if self.together is not None:
            await driver.fetch(self.together, *_text_columns([args]))

    async def _fetch_group(self, calls: list[tuple[Any, ...]]) -> list[Any]:
        """The group's rows: one execution of the set form, else the statement pipelined once per call."""
        if self.together is None:
            return await fetch_many_autocommit(self.sql, calls)
        return await fetch_all_autocommit(self.together, *_text_columns(calls))

    async def _one(self, args: tuple[Any, ...], future: asyncio.Future[Any]) -> None:
        try:
            row = await fetch_one_autocommit(self.sql, *args)
        except Exception as exc:
            if database_unreachable(exc):
                raise
            if not future.done():
                future.set_exception(exc)
            return
        if not future.done():
            future.set_result(row)


def _text_columns(calls: list[tuple[Any, ...]]) -> list[list[str | None]]:
    """The set form's parameters: for each of the statement's, the group's values as text (None as NULL).

    Only values whose ``str`` is PostgreSQL's text input for them (text, numbers, UUIDs): a container's
    would be Python's repr, so it is refused (pass JSON as a string, as the statement takes it).
    """
    return [[_text(value) for value in column] for column in zip(*calls, strict=True)]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict | list | tuple | set | bytes):
        raise TypeError(f"a grouped statement's set form takes no {type(value).__name__} parameter")
    return str(value)

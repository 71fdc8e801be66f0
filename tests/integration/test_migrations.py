"""Migrations up, down to base and up again on a fresh embedded PostgreSQL, with no autogenerate drift.

Every step runs in a subprocess with its own DATA_DIR, so the session's database is never touched.
The embedded server stops when the last process using it exits; the test checks it did.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
APP_TABLES = {
    "tenants",
    "tenant_numbers",
    "api_keys",
    "catalog_items",
    "knowledge_entries",
    "knowledge_chunks",
    "knowledge_terms",
    "vendors",
    "concierge_requests",
    "vendor_outreach",
    "vendor_replies",
    "concierge_calls",
    "platform_settings",
    "conversations",
    "messages",
    "turns",
    "chat_history",
}
APP_FUNCTIONS = {"f_unaccent", "f_join"}

# What the database holds, as JSON on stdout; run in the subprocess's environment.
INSPECT = """
import json
import psycopg
from app.core.db import libpq_conninfo

with psycopg.connect(libpq_conninfo()) as conn:
    tables = [r[0] for r in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
    functions = [r[0] for r in conn.execute(
        "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = current_schema() AND (p.proname LIKE 'procrastinate%' OR p.proname LIKE 'f\\\\_%')")]
    types = [r[0] for r in conn.execute(
        "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate%' AND t.typtype IN ('e', 'c') "
        "AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c')")]
    versions = [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")] if "alembic_version" in tables \\
        else []
print(json.dumps({"tables": tables, "functions": functions, "types": types, "versions": versions}))
"""


@pytest.fixture
def fresh_env() -> Iterator[dict[str, str]]:
    """The test environment pointed at an empty DATA_DIR, with no DATABASE_URL."""
    data_dir = Path(tempfile.mkdtemp(prefix="agent-migrations-"))
    env = {**os.environ, "DATA_DIR": str(data_dir), "ENVIRONMENT": "test", "PYTHONWARNINGS": "ignore"}
    env.pop("DATABASE_URL", None)
    try:
        yield env
    finally:
        _wait_until_stopped(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


def _postgres_pids(data_dir: Path) -> list[int]:
    """Processes whose command line mentions ``data_dir`` (the embedded postmaster and its children)."""
    marker = str(data_dir).encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker in cmdline:
            pids.append(int(entry.name))
    return pids


def _wait_until_stopped(data_dir: Path, timeout: float = 30.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while (pids := _postgres_pids(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return pids


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, f"{' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def _alembic(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return _run(env, str(BIN / "alembic"), *args)


def _inspect(env: dict[str, str]) -> dict[str, list[str]]:
    result = _run(env, sys.executable, "-c", INSPECT)
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def _head(env: dict[str, str]) -> str:
    result = _alembic(env, "heads")
    heads = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    assert len(heads) == 1, f"expected a single head, got {heads}"
    return heads[0]


@pytest.mark.slow
def test_upgrade_downgrade_upgrade_and_no_drift(fresh_env: dict[str, str]) -> None:
    data_dir = Path(fresh_env["DATA_DIR"])
    head = _head(fresh_env)

    _alembic(fresh_env, "upgrade", "head")
    state = _inspect(fresh_env)
    assert set(state["tables"]) >= APP_TABLES | {"alembic_version", "procrastinate_jobs"}, state
    assert set(state["functions"]) >= APP_FUNCTIONS
    assert any(f.startswith("procrastinate") for f in state["functions"])
    assert state["versions"] == [head]
    current = _alembic(fresh_env, "current")
    assert head in current.stdout

    _alembic(fresh_env, "downgrade", "base")
    state = _inspect(fresh_env)
    leftovers = set(state["tables"]) - {"alembic_version"}
    assert not leftovers, f"tables left after downgrade base: {sorted(leftovers)}"
    assert state["functions"] == [], state["functions"]
    assert state["types"] == [], state["types"]
    assert state["versions"] == []

    _alembic(fresh_env, "upgrade", "head")
    state = _inspect(fresh_env)
    assert set(state["tables"]) >= APP_TABLES | {"procrastinate_jobs"}
    assert state["versions"] == [head]

    check = _alembic(fresh_env, "check")
    assert "No new upgrade operations detected" in check.stdout + check.stderr

    # The server belongs to the processes above; with all of them gone it must be gone too.
    assert _wait_until_stopped(data_dir) == [], "embedded PostgreSQL still running after its last user exited"
    assert (data_dir / "postgres").is_dir()  # it really ran on the fresh directory


@pytest.mark.slow
def test_each_revision_steps_down_and_up(fresh_env: dict[str, str]) -> None:
    """Walk the history one revision at a time: every downgrade has a working upgrade after it."""
    history = _alembic(fresh_env, "history")
    revisions = [line.split("->")[1].split()[0].strip(",") for line in history.stdout.splitlines() if "->" in line]
    assert len(revisions) >= 2, history.stdout
    _alembic(fresh_env, "upgrade", "head")
    for _ in revisions:
        _alembic(fresh_env, "downgrade", "-1")
    assert _inspect(fresh_env)["versions"] == []
    for _ in revisions:
        _alembic(fresh_env, "upgrade", "+1")
    assert _inspect(fresh_env)["versions"] == [_head(fresh_env)]

"""A throwaway, migrated embedded PostgreSQL for the in-process evaluations and benches.

Shared by ``tests.eval.run``, ``tests.eval.conversations`` and ``tests.bench.llm``: each runs the
application in its own process (no API or worker subprocess), so this process points its settings at a
fresh temporary DATA_DIR, migrates it to head, and stops the server it started on the way out.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator


@contextlib.contextmanager
def migrated_temporary_database(prefix: str) -> Iterator[str]:
    """This process's settings on a new embedded PostgreSQL, migrated to head; yields the DATA_DIR."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        os.environ["DATA_DIR"] = tmp
        os.environ.pop("DATABASE_URL", None)  # the embedded database even if a .env names another one
        os.environ["LANGSMITH_TRACING"] = "false"
        # lazy: the settings are read from the environment set just above
        from app.core.config import get_settings
        from app.core.db import stop_embedded_postgres
        from app.core.migrate import upgrade

        get_settings.cache_clear()
        try:
            upgrade()
            yield tmp
        finally:
            stop_embedded_postgres()

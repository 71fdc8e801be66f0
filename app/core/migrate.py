"""Run alembic migrations programmatically (used by `agentctl migrate`, `just up` and tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parents[2]  # the repository: app/core/migrate.py


def alembic_config() -> Config:
    """Alembic configuration of this project, independent of the working directory."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return config


def upgrade(revision: str = "head") -> None:
    """Migrate the configured database up to ``revision``."""
    command.upgrade(alembic_config(), revision)


def downgrade(revision: str) -> None:
    """Migrate the configured database down to ``revision``."""
    command.downgrade(alembic_config(), revision)

"""Deployment files carry every setting: docker-compose.yml's services and .env.sample against `Settings`.

A new field in app/core/config.py that is not added here fails these tests, so no setting can silently
stay out of the containers. Parsing only: no Docker engine or compose binary needed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import TypeAdapter

from app.core.config import Settings

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("migrate", "api", "worker")
# Set by the compose file itself rather than taken from the shell or .env (which `just up` shares).
FIXED_IN_COMPOSE = {"DATABASE_URL", "DATA_DIR", "PORT"}
# Taken from the shell or .env with a default that differs from Settings' on purpose.
COMPOSE_DEFAULTS = {"ENVIRONMENT": "production"}
# Variables .env.sample documents that compose reads, not the application.
COMPOSE_ONLY = {"POSTGRES_PASSWORD"}
PASS_THROUGH = re.compile(r"^\$\{(?P<name>[A-Z0-9_]+):-(?P<default>[^}]*)\}$")


def setting_names() -> set[str]:
    """The environment variable of every Settings field."""
    prefix = Settings.model_config.get("env_prefix", "")
    return {(prefix + name).upper() for name in Settings.model_fields}


def compose_environment(service: str) -> dict[str, str]:
    """The environment block of one compose service, anchors and merge keys resolved."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    environment: dict[str, Any] = compose["services"][service]["environment"]
    return {name: str(value) for name, value in environment.items()}


def env_sample_names() -> set[str]:
    """Every variable .env.sample shows, commented out or not."""
    text = (ROOT / ".env.sample").read_text(encoding="utf-8")
    return set(re.findall(r"^#?\s?([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


@pytest.mark.parametrize("service", SERVICES)
def test_compose_service_gets_every_setting_and_no_unknown_name(service: str) -> None:
    names = set(compose_environment(service))
    assert setting_names() - names == set(), f"settings missing from {service}'s environment"
    assert names - setting_names() == set(), f"{service}'s environment names no setting"


@pytest.mark.parametrize("service", SERVICES)
def test_compose_takes_each_setting_from_the_shell_or_env_file(service: str) -> None:
    for name, value in compose_environment(service).items():
        if name in FIXED_IN_COMPOSE:
            continue
        match = PASS_THROUGH.match(value)
        assert match and match["name"] == name, f"{name}: {value!r} is not ${{{name}:-default}}"


def test_compose_defaults_are_the_settings_defaults() -> None:
    """The defaults the compose file documents are what the application would use anyway."""
    for name, value in compose_environment("api").items():
        match = PASS_THROUGH.match(value)
        if not match or name in COMPOSE_DEFAULTS:
            continue
        field = Settings.model_fields[name.lower()]
        if match["default"] == "":  # empty means unset: Settings ignores empty variables
            expected = field.default
            assert expected is None or expected == "", f"{name}: empty in compose, {expected!r} in Settings"
            continue
        parsed = TypeAdapter(field.annotation).validate_python(match["default"])
        assert parsed == field.default, f"{name}: {match['default']!r} in compose, {field.default!r} in Settings"
    for name, default in COMPOSE_DEFAULTS.items():
        assert compose_environment("api")[name] == f"${{{name}:-{default}}}"


def test_env_sample_lists_every_setting_and_no_unknown_name() -> None:
    names = env_sample_names()
    assert setting_names() - names == set(), ".env.sample misses these settings"
    assert names - setting_names() - COMPOSE_ONLY == set(), ".env.sample names variables nothing reads"


def test_empty_variables_fall_back_to_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compose passes unset settings as empty strings: they must mean "default", not "" or Path("")."""
    for name in ("LLM_MODELS_FILE", "EMBEDDINGS_MODEL", "OPENAI_API_KEY", "TOGETHER_BASE_URL", "DB_POOL_SIZE"):
        monkeypatch.setenv(name, "")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.llm_models_file is None
    assert settings.embeddings_model is None
    assert settings.openai_api_key is None
    assert settings.together_base_url == "https://api.together.xyz/v1"
    assert settings.db_pool_size == 10


PRODUCTION = {"admin_api_key": "a-real-admin-key-0123456789", "database_url": "postgresql://a:b@db/agent"}


@pytest.mark.parametrize(
    ("environment", "seed_demo", "seeded"),
    [
        ("production", None, False),
        ("production", "false", False),
        ("production", "true", True),
        ("development", None, True),
        ("development", "false", True),
        ("test", None, True),
    ],
)
def test_demo_is_seeded_only_when_asked_or_outside_production(
    monkeypatch: pytest.MonkeyPatch, environment: str, seed_demo: str | None, seeded: bool
) -> None:
    monkeypatch.setenv("ENVIRONMENT", environment)
    monkeypatch.delenv("SEED_DEMO", raising=False)
    if seed_demo is not None:
        monkeypatch.setenv("SEED_DEMO", seed_demo)
    settings = Settings(_env_file=None, **PRODUCTION)  # type: ignore[call-arg, arg-type]
    assert settings.demo_seeding_enabled is seeded

"""Settings: one class, read once from the environment and `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_PLACEHOLDERS = {"", "changeme", "change-me", "secret", "admin"}


class Settings(BaseSettings):
    """Every knob of the service; `.env.sample` documents each one."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"

    database_url: str | None = None
    data_dir: Path = Path(".data")
    db_pool_size: int = Field(default=10, ge=1, le=100)

    port: int = 8000
    api_workers: int = Field(default=1, ge=1, le=64)
    public_base_url: str = "http://127.0.0.1:8000"
    admin_api_key: SecretStr | None = None
    max_request_bytes: int = Field(default=5_000_000, ge=1_000)

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_api_base_url: str | None = None
    twilio_validate_signature: bool = True

    burst_window_seconds: float = Field(default=2.0, ge=0.0, le=60.0)
    history_window: int = Field(default=20, ge=2, le=200)
    worker_concurrency: int = Field(default=4, ge=1, le=64)
    stalled_job_seconds: int = Field(default=60, ge=5)
    knowledge_min_score: float = Field(default=0.08, ge=0.0)

    @property
    def twilio_configured(self) -> bool:
        """True when real Twilio credentials are present (otherwise sends are simulated)."""
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.environment != "production":
            return self
        admin = self.admin_api_key.get_secret_value() if self.admin_api_key else ""
        if admin.lower() in _PLACEHOLDERS or len(admin) < 16:
            raise ValueError("ADMIN_API_KEY must be set to a real secret (16+ chars) in production")
        if not self.database_url:
            raise ValueError("DATABASE_URL must be set in production (no embedded database)")
        if not self.twilio_validate_signature:
            raise ValueError("TWILIO_VALIDATE_SIGNATURE cannot be disabled in production")
        return self


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()

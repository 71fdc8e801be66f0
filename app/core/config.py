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
    burst_max_seconds: float = Field(default=10.0, ge=0.0, le=300.0)
    history_window: int = Field(default=20, ge=2, le=200)
    worker_concurrency: int = Field(default=4, ge=1, le=64)
    stalled_job_seconds: int = Field(default=60, ge=5)
    knowledge_min_score: float = Field(default=0.08, ge=0.0)
    # Knowledge embeddings: none (full-text + trigrams only), local (all-MiniLM-L6-v2 on the CPU, the
    # local-embeddings extra), openai or gemini (their keys below). One model per deployment; after a
    # change run `agentctl knowledge reembed --all`.
    embeddings_provider: Literal["none", "local", "openai", "gemini"] = "none"
    embeddings_model: str | None = None  # the provider's default when unset
    knowledge_min_similarity: float = Field(default=0.55, ge=0.0, le=1.0)  # cosine below: no evidence

    # LLM providers: any subset; none at all means every tenant is answered by the offline tier.
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None  # an OpenAI-compatible endpoint: Ollama, vLLM, a proxy
    google_api_key: SecretStr | None = None
    gemini_base_url: str | None = None  # a proxy or gateway in front of the Gemini API
    together_api_key: SecretStr | None = None
    together_base_url: str = "https://api.together.xyz/v1"
    llm_models_file: Path | None = None  # replaces the shipped model table (app/llm/models.toml)
    llm_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    llm_max_retries: int = Field(default=2, ge=0, le=6)  # on 429 and 5xx only, exponential backoff + jitter
    llm_retry_base_seconds: float = Field(default=0.5, ge=0, le=30)
    llm_circuit_failures: int = Field(default=3, ge=1)  # consecutive failures that open a provider's circuit
    llm_circuit_failure_rate: float = Field(default=0.5, gt=0, le=1)
    llm_circuit_min_calls: int = Field(default=6, ge=1)  # calls in the window before the rate counts
    llm_circuit_window_seconds: float = Field(default=60.0, gt=0)
    llm_circuit_cooldown_seconds: float = Field(default=30.0, gt=0)
    llm_history_messages: int = Field(default=6, ge=0, le=50)  # chat history an LLM turn reads
    llm_long_context_tokens: int = Field(default=12_000, ge=1_000)
    usage_retention_days: int = Field(default=90, ge=1)

    langsmith_tracing: bool = False
    langsmith_api_key: SecretStr | None = None
    langsmith_endpoint: str = "https://api.smith.langchain.com"
    langsmith_project: str = "wa-agent"

    @property
    def twilio_configured(self) -> bool:
        """True when real Twilio credentials are present (otherwise sends are simulated)."""
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @property
    def llm_keys(self) -> dict[str, bool]:
        """Which LLM providers have credentials (or, for OpenAI-compatible servers, an endpoint)."""
        return {
            "openai": bool(self.openai_api_key or self.openai_base_url),
            "gemini": bool(self.google_api_key),
            "together": bool(self.together_api_key),
        }

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

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

    # An empty variable means "unset" (the default): ConfigMaps and compose pass every name, most empty.
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)

    environment: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"
    log_format: Literal["json", "text"] | None = None  # unset: json in production, text elsewhere
    # Seed the demo tenant on `agentctl seed --if-enabled` (compose's migrate job) even in production;
    # outside production it is seeded anyway.
    seed_demo: bool = False

    database_url: str | None = None
    data_dir: Path = Path(".data")
    db_pool_size: int = Field(default=10, ge=1, le=100)

    port: int = 8000
    api_workers: int = Field(default=1, ge=1, le=64)
    # The proxies whose X-Forwarded-For gives the client's address (uvicorn's forwarded_allow_ips): comma-separated
    # addresses or networks, or "*".
    forwarded_allow_ips: str = Field(default="127.0.0.1", min_length=1, max_length=2000)
    public_base_url: str = "http://127.0.0.1:8000"
    admin_api_key: SecretStr | None = None
    max_request_bytes: int = Field(default=5_000_000, ge=1_000)
    # Twilio's webhooks are small forms: anything bigger or with more fields is refused before it is
    # parsed or its signature computed (a flood of huge unsigned forms must not delay genuine ones).
    twilio_webhook_max_bytes: int = Field(default=64_000, ge=4_000)
    twilio_webhook_max_fields: int = Field(default=200, ge=20)
    # Requests per minute per tenant key on the HTTP API, counted per API process (0 = no limit).
    api_requests_per_minute: int = Field(default=600, ge=0)
    # WhatsApp messages per minute from one customer before the bot stops calling the agent for them:
    # the first message over the limit gets a fixed notice, the rest are stored unanswered (0 = no limit).
    sender_messages_per_minute: int = Field(default=30, ge=0)

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_api_base_url: str | None = None
    twilio_validate_signature: bool = True
    # How long a reply part keeps retrying Twilio's transient failures (429, 5xx, timeouts) before it is
    # marked failed and the conversation handed to an operator.
    twilio_retry_seconds: float = Field(default=300.0, gt=0.0, le=86_400.0)

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

    # Metrics: the API's /metrics needs this bearer token when set; unset, /metrics is open outside
    # production and answers 404 in production. A worker serves its own series on WORKER_METRICS_PORT
    # (0 = off), a separate port that only the scraper should reach.
    metrics_token: SecretStr | None = None
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)
    worker_metrics_host: str = "0.0.0.0"
    metrics_db_timeout_seconds: float = Field(default=2.0, gt=0, le=30)  # queue/funnel queries at scrape time

    # Readiness (/readyz): not ready when no worker heartbeat is this fresh, or when the oldest due job
    # has waited longer than the queue age; 0 turns either check off.
    ready_worker_heartbeat_seconds: float = Field(default=60.0, ge=0)
    ready_max_queue_age_seconds: float = Field(default=120.0, ge=0)
    # Inbound spool: when the database cannot take a verified webhook within WEBHOOK_DB_TIMEOUT_SECONDS, it
    # is fsynced under DATA_DIR/spool (at most SPOOL_MAX_BYTES) and ingested in order once the database is back.
    webhook_db_timeout_seconds: float = Field(default=5.0, gt=0, le=12)
    spool_max_bytes: int = Field(default=64_000_000, ge=100_000)
    spool_drain_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    # `agentctl up`: a dead worker or API is restarted after 1 s, doubling up to this many seconds.
    restart_backoff_max_seconds: float = Field(default=30.0, ge=1, le=600)

    langsmith_tracing: bool = False
    langsmith_api_key: SecretStr | None = None
    langsmith_endpoint: str = "https://api.smith.langchain.com"
    langsmith_project: str = "wa-agent"

    # Alerts (app.alerts) also go to this admin channel: a JSON webhook ({"text": ...}, which Slack and Teams
    # incoming webhooks accept), signed like tenant notifications when ALERT_WEBHOOK_SECRET is set.
    alert_webhook_url: str | None = None
    alert_webhook_secret: SecretStr | None = None

    @property
    def twilio_configured(self) -> bool:
        """True when real Twilio credentials are present (otherwise sends are simulated)."""
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @property
    def demo_seeding_enabled(self) -> bool:
        """True when the demo tenant is wanted: SEED_DEMO=true, or any environment but production."""
        return self.seed_demo or self.environment != "production"

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

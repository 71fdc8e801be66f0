"""Provider registry: which LLM providers this deployment has, and their chat models."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from langchain_core.language_models import BaseChatModel

from app.core.config import Settings, get_settings
from app.llm.health import CircuitPolicy, HealthBoard
from app.llm.models import PROVIDERS, ModelSpec, ModelTable, ModelTier, Provider, load_model_table

ModelFactory = Callable[[ModelSpec], BaseChatModel]


@dataclass(frozen=True)
class LLMLimits:
    """Per-call timeout and retry policy."""

    timeout_seconds: float = 20.0
    max_retries: int = 2
    retry_base_seconds: float = 0.5


def _settings_factory(settings: Settings) -> ModelFactory:
    """Chat models built from settings; the SDKs' own retries are off, ours apply (429/5xx only)."""

    def build(spec: ModelSpec) -> BaseChatModel:
        timeout = settings.llm_timeout_seconds
        if spec.provider == "gemini":
            # lazy: importing a provider SDK takes ~2 s (measured); only processes that use it pay
            from langchain_google_genai import ChatGoogleGenerativeAI

            key = settings.google_api_key.get_secret_value() if settings.google_api_key else None
            # max_retries=0 would mean "the SDK default" here; 1 is a single attempt (ours retry).
            return ChatGoogleGenerativeAI(
                model=spec.name,
                google_api_key=key,
                base_url=settings.gemini_base_url,
                timeout=timeout,
                max_retries=1,
            )
        # lazy: importing the OpenAI SDK takes ~2 s (measured); only processes that use it pay
        from langchain_openai import ChatOpenAI

        if spec.provider == "together":
            key = settings.together_api_key.get_secret_value() if settings.together_api_key else None
            return ChatOpenAI(
                model=spec.name, api_key=key, base_url=settings.together_base_url, timeout=timeout, max_retries=0
            )
        # A local OpenAI-compatible server (Ollama, vLLM) needs no key, but the client insists on one.
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
        return ChatOpenAI(
            model=spec.name, api_key=key, base_url=settings.openai_base_url, timeout=timeout, max_retries=0
        )

    return build


@dataclass
class ProviderRegistry:
    """The configured providers, the model table, chat models (built once) and provider health."""

    table: ModelTable
    configured: frozenset[Provider]
    factory: ModelFactory
    board: HealthBoard
    limits: LLMLimits = field(default_factory=LLMLimits)
    _models: dict[str, BaseChatModel] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> ProviderRegistry:
        """The registry a process builds from its settings."""
        keys = settings.llm_keys
        return cls(
            table=load_model_table(settings.llm_models_file),
            configured=frozenset(p for p in PROVIDERS if keys.get(p)),
            factory=_settings_factory(settings),
            board=HealthBoard(
                CircuitPolicy(
                    failures_to_open=settings.llm_circuit_failures,
                    failure_rate_to_open=settings.llm_circuit_failure_rate,
                    min_calls_for_rate=settings.llm_circuit_min_calls,
                    window_seconds=settings.llm_circuit_window_seconds,
                    cooldown_seconds=settings.llm_circuit_cooldown_seconds,
                )
            ),
            limits=LLMLimits(
                timeout_seconds=settings.llm_timeout_seconds,
                max_retries=settings.llm_max_retries,
                retry_base_seconds=settings.llm_retry_base_seconds,
            ),
        )

    @property
    def enabled(self) -> bool:
        """True when at least one provider can be called."""
        return bool(self.configured) and any(m.provider in self.configured for m in self.table.models)

    def usable(self, spec: ModelSpec) -> bool:
        """Whether ``spec``'s provider is configured."""
        return spec.provider in self.configured

    def models_of_tier(self, tier: ModelTier) -> list[ModelSpec]:
        """Configured models of one tier, in the table's order."""
        return [m for m in self.table.models if m.tier == tier and self.usable(m)]

    def chat_model(self, spec: ModelSpec) -> BaseChatModel:
        """The chat model for ``spec``, built on first use and reused."""
        model = self._models.get(spec.name)
        if model is None:
            model = self._models[spec.name] = self.factory(spec)
        return model


_registry: ProviderRegistry | None = None


def get_registry() -> ProviderRegistry:
    """This process's registry (health is per process), built from settings on first use."""
    global _registry
    if _registry is None:
        _registry = ProviderRegistry.from_settings(get_settings())
    return _registry


def set_registry(registry: ProviderRegistry | None) -> None:
    """Replace this process's registry (None: rebuild from settings on next use), e.g. after settings change."""
    global _registry
    _registry = registry

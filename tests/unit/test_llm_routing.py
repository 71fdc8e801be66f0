"""Complexity routing: offline or LLM, which tier, which chain of models; and the tenant's AgentConfig."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from agents.classify import Classification, Intent, classify
from agents.routing import COMPLEX_FROM, SIMPLE_BELOW, Route, complexity_score, provider_chains, route_turn
from app.catalog.frame import build_catalog_frame
from app.catalog.schemas import CatalogFilters
from app.catalog.vocabulary import CatalogVocabulary
from app.llm.health import CircuitPolicy, HealthBoard
from app.llm.models import ModelSpec, ModelTable, Provider, load_model_table
from app.llm.providers import LLMLimits, ProviderRegistry
from app.tenants.agent_config import AgentConfig, Disclaimer, agent_config, invalidate
from tests.fakes.chat_models import ScriptedChatModel

TABLE = load_model_table()
ALL: frozenset[Provider] = frozenset({"openai", "gemini", "together"})
LONG = 12_000

SMALL = ["gpt-4o-mini", "gemini-2.5-flash-lite", "meta-llama/Llama-3.2-3B-Instruct-Turbo"]
STANDARD = ["gpt-4.1-mini", "gemini-2.5-flash", "meta-llama/Llama-3.3-70B-Instruct-Turbo"]
STRONG = ["gpt-4.1", "gemini-2.5-pro", "deepseek-ai/DeepSeek-V3"]


def registry(configured: frozenset[Provider] = ALL, table: ModelTable = TABLE) -> ProviderRegistry:
    return ProviderRegistry(
        table=table,
        configured=configured,
        factory=lambda spec: ScriptedChatModel(),
        board=HealthBoard(CircuitPolicy()),
        limits=LLMLimits(timeout_seconds=0.1, max_retries=0, retry_base_seconds=0.0),
    )


@pytest.fixture(scope="module")
def vocab() -> CatalogVocabulary:
    rows = [
        {"stock_id": "VW-1", "make": "Volkswagen", "model": "Jetta", "year": 2019, "price": 289000, "km": 45000},
        {"stock_id": "NI-1", "make": "Nissan", "model": "Versa", "year": 2020, "price": 229000, "km": 41000},
        {"stock_id": "MZ-1", "make": "Mazda", "model": "CX-5", "year": 2020, "price": 389000, "km": 40000},
    ]
    return CatalogVocabulary.from_frame(build_catalog_frame([{**r, "version": None, "attributes": {}} for r in rows]))


def intents(*pairs: tuple[str, float]) -> Classification:
    return Classification(intents=[Intent(n, c) for n, c in pairs], filters=CatalogFilters(), reference=None)


INFO = intents(("info", 0.5))


def route(
    text: str,
    classification: Classification = INFO,
    *,
    turns: int = 0,
    context_tokens: int = 100,
    ai_agent: bool = True,
    config: AgentConfig | None = None,
    reg: ProviderRegistry | None = None,
    no_registry: bool = False,
    month_spend: Decimal = Decimal(0),
) -> Route:
    return route_turn(
        text=text,
        classification=classification,
        turns_so_far=turns,
        context_tokens=context_tokens,
        ai_agent=ai_agent,
        config=config or AgentConfig(),
        registry=None if no_registry else reg or registry(),
        month_spend=month_spend,
        long_context_tokens=LONG,
    )


def names(r: Route) -> list[str]:
    return [m.name for m in r.chain]


# ============================================================================================ offline reasons


def test_ai_agent_off_is_offline_whatever_else_holds(vocab: CatalogVocabulary) -> None:
    text = "¿Qué diferencia hay entre el Jetta y el Versa? ¿cuál me conviene más?"
    r = route(text, classify(text, vocabulary=vocab, memory={}), ai_agent=False, context_tokens=10 * LONG)
    assert (r.tier, r.reason, r.model_tier, r.chain) == ("offline", "ai_agent_off", None, ())
    assert r.complexity > 0  # the score is still recorded


@pytest.mark.parametrize(
    "reg",
    [
        pytest.param(registry(frozenset()), id="no-key"),
        pytest.param(
            registry(
                frozenset({"gemini"}), ModelTable(models=tuple(m for m in TABLE.models if m.provider == "openai"))
            ),
            id="key-for-a-provider-without-models",
        ),
    ],
)
def test_no_provider(reg: ProviderRegistry) -> None:
    r = route("¿qué autos tienen?", reg=reg)
    assert (r.tier, r.reason, r.chain) == ("offline", "no_provider", ())


def test_no_registry_is_no_provider() -> None:
    assert route("¿qué autos tienen?", no_registry=True).reason == "no_provider"


@pytest.mark.parametrize(
    ("budget", "spend", "reason"),
    [
        ("10", "10", "budget_exhausted"),
        ("10", "10.01", "budget_exhausted"),
        ("0", "0", "budget_exhausted"),
        ("10", "9.999999", "small"),
        (None, "1000000", "small"),
    ],
)
def test_monthly_budget(budget: str | None, spend: str, reason: str) -> None:
    config = AgentConfig(monthly_budget_usd=None if budget is None else Decimal(budget))
    r = route("¿qué autos tienen?", config=config, month_spend=Decimal(spend))
    assert r.reason == reason
    assert r.tier == ("offline" if reason == "budget_exhausted" else "llm")


def test_budget_is_checked_before_the_simple_shortcut(vocab: CatalogVocabulary) -> None:
    config = AgentConfig(monthly_budget_usd=Decimal(5))
    r = route("hola", classify("hola", vocabulary=vocab, memory={}), config=config, month_spend=Decimal(5))
    assert r.reason == "budget_exhausted"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("hola", "simple:greeting"),
        ("hola buenas tardes", "simple:greeting"),
        ("gracias", "simple:thanks"),
        ("quiero hablar con un asesor", "simple:handoff"),
        ("ayuda", "simple:help"),
    ],
)
def test_simple_turns_stay_offline(vocab: CatalogVocabulary, text: str, reason: str) -> None:
    r = route(text, classify(text, vocabulary=vocab, memory={}))
    assert (r.tier, r.reason, r.chain) == ("offline", reason, ())
    assert r.complexity < SIMPLE_BELOW


def test_simple_turns_go_to_the_small_tier_when_the_tenant_says_so(vocab: CatalogVocabulary) -> None:
    r = route("hola", classify("hola", vocabulary=vocab, memory={}), config=AgentConfig(offline_for_simple=False))
    assert (r.tier, r.reason, r.model_tier) == ("llm", "small", "small")
    assert names(r)[:3] == SMALL


def test_an_unsure_greeting_is_not_shortcut() -> None:
    r = route("hola", intents(("greeting", 0.84)))
    assert (r.tier, r.model_tier) == ("llm", "small")


def test_a_greeting_with_a_complex_score_is_not_shortcut() -> None:
    r = route("hola " * 80, intents(("greeting", 0.9)))  # 400 characters: score 0.3
    assert r.complexity == SIMPLE_BELOW
    assert (r.tier, r.model_tier) == ("llm", "standard")


def test_a_question_is_not_a_simple_turn(vocab: CatalogVocabulary) -> None:
    r = route("que horario tienen", classify("que horario tienen", vocabulary=vocab, memory={}))
    assert (r.tier, r.reason, r.model_tier) == ("llm", "small", "small")


def test_no_model_for_the_tier(vocab: CatalogVocabulary) -> None:
    only_strong = registry(frozenset({"openai"}), ModelTable(models=(TABLE.get("gpt-4.1"),)))
    assert route("que horario tienen", reg=only_strong).reason == "no_model"
    strong = route("compara " * 50 + "??", intents(("catalog", 0.8), ("finance", 0.8)), reg=only_strong)
    assert (strong.tier, names(strong)) == ("llm", ["gpt-4.1"])


# ============================================================================================ complexity score


def test_complexity_factors() -> None:
    assert complexity_score(text="hola", classification=INFO, turns_so_far=0) == (0.003, [])
    score, factors = complexity_score(
        text="¿Por qué me conviene más el Jetta? ¿y el Versa? ¿y el CX-5?",
        classification=intents(("catalog", 0.8), ("finance", 0.85), ("info", 0.9)),
        turns_so_far=10,
    )
    assert factors == ["long_conversation", "3_intents", "reasoning_keywords", "3_questions"]
    assert score == pytest.approx(round(59 / 400 * 0.3 + 0.075 + 0.4 + 0.25 + 0.2, 3))


@pytest.mark.parametrize(("length", "long"), [(133, False), (134, True)])
def test_long_message_factor_threshold(length: int, long: bool) -> None:
    _, factors = complexity_score(text="a" * length, classification=INFO, turns_so_far=0)
    assert ("long_message" in factors) is long


@pytest.mark.parametrize(("turns", "long"), [(9, False), (10, True)])
def test_long_conversation_factor_threshold(turns: int, long: bool) -> None:
    score, factors = complexity_score(text="a", classification=INFO, turns_so_far=turns)
    assert ("long_conversation" in factors) is long
    assert score == round(0.3 / 400 + turns / 20 * 0.15, 3)


def test_only_confident_routed_intents_count() -> None:
    weak = intents(("catalog", 0.8), ("finance", 0.59), ("info", 0.5), ("smalltalk", 0.99))
    assert complexity_score(text="a", classification=weak, turns_so_far=0)[1] == []
    four = intents(("catalog", 0.8), ("finance", 0.8), ("info", 0.8), ("handoff", 0.8))
    score, factors = complexity_score(text="a", classification=four, turns_so_far=0)
    assert factors == ["4_intents"]
    assert score == round(0.3 / 400 + 0.4, 3)  # capped at 0.4


@pytest.mark.parametrize(
    "text",
    [
        "¿cuál es mejor?",
        "compara el Jetta con el Versa",
        "¿por qué tan caro?",
        "Jetta vs Versa",
        "explícame el crédito",
        "which is better",
        "can I trade-in my car",
        "pros and cons",
    ],
)
def test_reasoning_keywords(text: str) -> None:
    assert "reasoning_keywords" in complexity_score(text=text, classification=INFO, turns_so_far=0)[1]


@pytest.mark.parametrize("text", ["¿tienen un Jetta?", "versatil", "porque sí", "compra"])
def test_not_reasoning_keywords(text: str) -> None:
    assert "reasoning_keywords" not in complexity_score(text=text, classification=INFO, turns_so_far=0)[1]


def test_score_is_capped_at_one() -> None:
    text = "compara " * 60 + "?" * 10
    score, _ = complexity_score(
        text=text, classification=intents(*((n, 0.9) for n in ("catalog", "finance", "info"))), turns_so_far=50
    )
    assert score == 1.0


# ============================================================================================ tiers


BOTH = intents(("catalog", 0.8), ("finance", 0.85))


@pytest.mark.parametrize(
    ("text", "classification", "score", "tier"),
    [
        ("a " * 199 + "a", INFO, 0.299, "small"),
        ("a " * 200, INFO, SIMPLE_BELOW, "standard"),
        ("a " * 198 + "a??", BOTH, 0.599, "standard"),
        ("a " * 199 + "??", BOTH, COMPLEX_FROM, "strong"),
    ],
)
def test_tier_thresholds(text: str, classification: Classification, score: float, tier: str) -> None:
    r = route(text, classification)
    assert r.complexity == score
    assert (r.tier, r.model_tier) == ("llm", tier)
    assert r.reason.split(":")[0] == tier


def test_classified_turns_route_by_complexity(vocab: CatalogVocabulary) -> None:
    def tier_of(text: str, turns: int = 0) -> str | None:
        return route(text, classify(text, vocabulary=vocab, memory={}), turns=turns).model_tier

    assert tier_of("¿tienen Jetta?") == "small"
    assert tier_of("¿Qué diferencia hay entre el Jetta y el Versa? ¿cuál me conviene más?") == "standard"
    assert (
        tier_of(
            "¿Qué diferencia hay entre el Jetta y el Versa? ¿cuál me conviene más y cuánto pagaría al mes "
            "con 50 mil de enganche a 48 meses? ¿y a 60?",
            turns=12,
        )
        == "strong"
    )


def test_reason_lists_the_factors() -> None:
    assert route("¿tienen autos?").reason == "small"
    assert route("a " * 200).reason == "standard:long_message"
    assert route("a " * 199 + "??", BOTH).reason == "strong:long_message,2_intents,2_questions"


# ============================================================================================ chains


def test_chains_fall_back_to_cheaper_tiers_never_dearer() -> None:
    assert names(route("a")) == SMALL + STANDARD
    assert names(route("a " * 200)) == STANDARD + SMALL
    assert names(route("a " * 199 + "??", BOTH)) == STRONG + STANDARD + SMALL


def test_chains_hold_only_configured_providers() -> None:
    reg = registry(frozenset({"openai"}))
    assert names(route("a", reg=reg)) == ["gpt-4o-mini", "gpt-4.1-mini"]
    assert names(route("a " * 199 + "??", BOTH, reg=reg)) == ["gpt-4.1", "gpt-4.1-mini", "gpt-4o-mini"]
    reg = registry(frozenset({"gemini", "together"}))
    assert all(m.provider in {"gemini", "together"} for m in route("a " * 200, reg=reg).chain)


def test_default_model_heads_simple_and_standard_chains_once() -> None:
    config = AgentConfig(default_model="gemini-2.5-flash")
    small = route("a", config=config)
    assert small.reason == "small:tenant_model"
    assert names(small) == ["gemini-2.5-flash", *SMALL, "gpt-4.1-mini", "meta-llama/Llama-3.3-70B-Instruct-Turbo"]
    standard = route("a " * 200, config=config)
    assert standard.reason == "standard:long_message:tenant_model"
    assert names(standard)[:3] == ["gemini-2.5-flash", "gpt-4.1-mini", "meta-llama/Llama-3.3-70B-Instruct-Turbo"]
    assert len(names(standard)) == len(set(names(standard))) == 6
    strong = route("a " * 199 + "??", BOTH, config=config)
    assert names(strong)[0] == "gpt-4.1"  # the default model does not head complex turns
    assert not strong.reason.endswith("tenant_model")


def test_a_dearer_default_model_is_what_the_tenant_asked_for() -> None:
    r = route("a", config=AgentConfig(default_model="gpt-4.1"))
    assert names(r) == ["gpt-4.1", *SMALL, *STANDARD]


def test_complex_model_heads_only_complex_chains() -> None:
    config = AgentConfig(complex_model="deepseek-ai/DeepSeek-V3")
    strong = route("a " * 199 + "??", BOTH, config=config)
    assert strong.reason.endswith(":tenant_model")
    assert names(strong)[:3] == ["deepseek-ai/DeepSeek-V3", "gpt-4.1", "gemini-2.5-pro"]
    assert names(strong).count("deepseek-ai/DeepSeek-V3") == 1
    assert names(route("a", config=config))[0] == "gpt-4o-mini"


def test_fallback_models_come_last_and_are_not_repeated() -> None:
    config = AgentConfig(fallback_models=["gpt-4.1", "gpt-4o-mini", "gemini-2.5-pro"])
    assert names(route("a", config=config)) == [*SMALL, *STANDARD, "gpt-4.1", "gemini-2.5-pro"]


def test_tenant_models_of_unconfigured_providers_are_dropped() -> None:
    config = AgentConfig(default_model="gemini-2.5-pro", fallback_models=["deepseek-ai/DeepSeek-V3", "gpt-4.1"])
    r = route("a", config=config, reg=registry(frozenset({"openai"})))
    assert names(r) == ["gpt-4o-mini", "gpt-4.1-mini", "gpt-4.1"]


# ============================================================================================ long context


def test_long_context_prefers_the_largest_window_then_the_cheapest() -> None:
    r = route("¿y el primero?", context_tokens=LONG)
    assert (r.tier, r.reason, r.model_tier) == ("llm", "long_context", "strong")
    assert names(r) == [
        "gemini-2.5-flash-lite",  # 1,048,576 tokens, $0.10
        "gemini-2.5-flash",
        "gemini-2.5-pro",
        "gpt-4.1-mini",  # 1,047,576 tokens
        "gpt-4.1",
        "meta-llama/Llama-3.2-3B-Instruct-Turbo",  # 131,072 tokens, $0.06
        "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        "deepseek-ai/DeepSeek-V3",
        "gpt-4o-mini",  # 128,000 tokens
    ]
    windows = [m.context_window for m in r.chain]
    assert windows == sorted(windows, reverse=True)


def test_long_context_ties_on_window_go_to_the_cheaper_model() -> None:
    def row(name: str, window: int, price: str) -> ModelSpec:
        return ModelSpec(
            name=name,
            provider="openai",
            tier="standard",
            context_window=window,
            input_per_mtok=Decimal(price),
            output_per_mtok=Decimal(price),
        )

    table = ModelTable(
        models=(row("dear", 200_000, "5"), row("small-window", 32_000, "0.01"), row("cheap", 200_000, "1"))
    )
    r = route("a", context_tokens=LONG, reg=registry(frozenset({"openai"}), table))
    assert names(r) == ["cheap", "dear", "small-window"]


def test_long_context_threshold_is_inclusive() -> None:
    assert route("¿y el primero?", context_tokens=LONG - 1).reason == "small"
    assert route("¿y el primero?", context_tokens=LONG).reason == "long_context"


def test_long_context_only_with_configured_providers_and_fallbacks_once() -> None:
    config = AgentConfig(fallback_models=["gpt-4.1", "gemini-2.5-pro"])
    r = route("a", context_tokens=LONG * 3, config=config, reg=registry(frozenset({"openai", "together"})))
    assert names(r) == [
        "gpt-4.1-mini",
        "gpt-4.1",
        "meta-llama/Llama-3.2-3B-Instruct-Turbo",
        "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        "deepseek-ai/DeepSeek-V3",
        "gpt-4o-mini",
    ]


def test_long_context_wins_over_complexity_but_not_over_the_simple_shortcut(vocab: CatalogVocabulary) -> None:
    assert route("a " * 199 + "??", BOTH, context_tokens=LONG).reason == "long_context"
    hola = classify("hola", vocabulary=vocab, memory={})
    assert route("hola", hola, context_tokens=LONG * 10).reason == "simple:greeting"


# ============================================================================================ provider_chains


def test_provider_chains_for_status_output() -> None:
    chains = provider_chains(registry(), AgentConfig())
    assert chains["simple"] == SMALL + STANDARD
    assert chains["standard"] == STANDARD + SMALL
    assert chains["complex"] == STRONG + STANDARD + SMALL
    assert chains["long_context"][0] == "gemini-2.5-flash-lite"
    assert set(chains["long_context"]) == set(TABLE.names())


def test_provider_chains_follow_the_tenant_overrides_and_configured_providers() -> None:
    config = AgentConfig(default_model="gpt-4.1", complex_model="gemini-2.5-pro", fallback_models=["gemini-2.5-pro"])
    chains = provider_chains(registry(frozenset({"openai", "gemini"})), config)
    assert chains["simple"][0] == chains["standard"][0] == "gpt-4.1"
    assert chains["complex"][:2] == ["gemini-2.5-pro", "gpt-4.1"]
    assert chains["simple"][-1] == "gemini-2.5-pro"
    assert not any(n.startswith(("meta-llama", "deepseek")) for chain in chains.values() for n in chain)


def test_provider_chains_are_empty_without_providers() -> None:
    assert provider_chains(registry(frozenset()), AgentConfig()) == {
        "simple": [],
        "standard": [],
        "complex": [],
        "long_context": [],
    }


# ============================================================================================ AgentConfig


def test_agent_config_defaults() -> None:
    config = AgentConfig()
    assert config.tone == "friendly"
    assert config.offline_for_simple
    assert (config.default_model, config.complex_model, config.fallback_models) == (None, None, [])
    assert config.monthly_budget_usd is None


@pytest.mark.parametrize("field", ["default_model", "complex_model"])
def test_unknown_model_names_are_rejected(field: str) -> None:
    with pytest.raises(ValidationError, match="unknown models \\['gpt-5-ultra'\\]") as info:
        AgentConfig.model_validate({field: "gpt-5-ultra"})
    assert "gpt-4o-mini" in str(info.value)  # the message lists what the table has


def test_unknown_fallback_models_are_all_reported() -> None:
    with pytest.raises(ValidationError, match="unknown models \\['a', 'b'\\]"):
        AgentConfig(fallback_models=["a", "gpt-4.1", "b"])


def test_known_model_names_are_accepted() -> None:
    config = AgentConfig(default_model="gpt-4o-mini", complex_model="gemini-2.5-pro", fallback_models=STANDARD)
    assert config.fallback_models == STANDARD


@pytest.mark.parametrize(
    "raw",
    [
        {"tone": "rude"},
        {"confidence_threshold": 1.5},
        {"confidence_threshold": -0.1},
        {"low_confidence_turns": 0},
        {"monthly_budget_usd": "-1"},
        {"agent_name": "x" * 61},
        {"restrictions": ["x" * 201]},
        {"personality_traits": ["a"] * 11},
        {"fallback_models": ["gpt-4.1"] * 11},
        {"surprise": True},
        {"disclaimers": [{"text_es": ""}]},
        {"disclaimers": [{"applies_to": "everything", "text_es": "x"}]},
    ],
)
def test_invalid_configs_are_rejected(raw: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        AgentConfig.model_validate(raw)


def test_list_items_are_trimmed_and_blanks_dropped() -> None:
    config = AgentConfig(restrictions=["  no prometer descuentos ", "", "   "], auto_handoff_topics=[" queja "])
    assert config.restrictions == ["no prometer descuentos"]
    assert config.auto_handoff_topics == ["queja"]


def test_disclaimer_language() -> None:
    both = Disclaimer(text_es="Precios sujetos a cambio.", text_en="Prices subject to change.")
    assert both.text("en") == "Prices subject to change."
    assert both.text("es") == "Precios sujetos a cambio."
    assert Disclaimer(text_es="Sólo en español.").text("en") == "Sólo en español."


def test_agent_config_is_cached_per_tenant_and_version() -> None:
    tenant = uuid.uuid4()
    first = agent_config(tenant, 1, {"tone": "formal"})
    assert first.tone == "formal"
    # Same version: the cached config, even if the caller passes other data.
    assert agent_config(tenant, 1, {"tone": "casual"}) is first
    assert agent_config(tenant, 2, {"tone": "casual"}).tone == "casual"
    assert agent_config(uuid.uuid4(), 1, {"tone": "casual"}).tone == "casual"


def test_invalidate_drops_every_version_of_one_tenant_only() -> None:
    tenant, other = uuid.uuid4(), uuid.uuid4()
    agent_config(tenant, 1, {"tone": "formal"})
    agent_config(tenant, 2, {"tone": "formal"})
    kept = agent_config(other, 1, {"tone": "formal"})

    invalidate(tenant)

    assert agent_config(tenant, 1, {"tone": "casual"}).tone == "casual"
    assert agent_config(tenant, 2, {"tone": "casual"}).tone == "casual"
    assert agent_config(other, 1, {"tone": "casual"}) is kept


def test_a_stored_config_naming_a_removed_model_keeps_everything_else() -> None:
    raw = {"tone": "formal", "default_model": "retired-model", "fallback_models": ["gpt-4.1"], "restrictions": ["x"]}
    config = agent_config(uuid.uuid4(), 1, raw)
    assert (config.tone, config.restrictions) == ("formal", ["x"])
    assert (config.default_model, config.complex_model, config.fallback_models) == (None, None, [])


def test_no_stored_config_means_defaults() -> None:
    assert agent_config(uuid.uuid4(), 0, None) == AgentConfig()

"""The model table: which models exist, their tier, context window and price (a data file, not code)."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Provider = Literal["openai", "gemini", "together"]
ModelTier = Literal["small", "standard", "strong"]
PROVIDERS: tuple[Provider, ...] = ("openai", "gemini", "together")
MODEL_TIERS: tuple[ModelTier, ...] = ("small", "standard", "strong")
SHIPPED_TABLE = Path(__file__).with_name("models.toml")
_MILLION = Decimal(1_000_000)


class ModelSpec(BaseModel):
    """One row of the model table."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    provider: Provider
    tier: ModelTier
    context_window: int = Field(gt=0)
    input_per_mtok: Decimal = Field(ge=0, description="USD per million input tokens")
    output_per_mtok: Decimal = Field(ge=0, description="USD per million output tokens")

    def cost(self, input_tokens: int, output_tokens: int) -> Decimal:
        """USD cost of a call, to a millionth of a dollar."""
        raw = (self.input_per_mtok * input_tokens + self.output_per_mtok * output_tokens) / _MILLION
        return raw.quantize(Decimal("0.000001"))


class ModelTable(BaseModel):
    """All models, in the table's order of preference."""

    model_config = ConfigDict(frozen=True)

    models: tuple[ModelSpec, ...]

    def get(self, name: str) -> ModelSpec | None:
        """The model called ``name``, if the table has it."""
        return next((m for m in self.models if m.name == name), None)

    def names(self) -> list[str]:
        """Every model name in the table."""
        return [m.name for m in self.models]


class ModelTableError(ValueError):
    """The model table file is missing or malformed."""


def parse_model_table(path: Path) -> ModelTable:
    """Read and validate a model table file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        table = ModelTable(models=tuple(ModelSpec.model_validate(row) for row in data.get("model", [])))
    except (OSError, tomllib.TOMLDecodeError, ValueError) as exc:
        raise ModelTableError(f"model table {path}: {exc}") from exc
    if not table.models:
        raise ModelTableError(f"model table {path}: no [[model]] rows")
    names = table.names()
    if len(names) != len(set(names)):
        raise ModelTableError(f"model table {path}: duplicate model names")
    return table


@lru_cache(maxsize=4)
def load_model_table(path: Path | None = None) -> ModelTable:
    """The model table (the shipped one unless ``path`` is given), read once per process."""
    return parse_model_table(path or SHIPPED_TABLE)

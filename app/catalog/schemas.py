"""The catalogue's types: search filters (shared by the rule parser and the LLM tool), cards and results."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.catalog.keys import display_value

SortOrder = Literal["relevance", "price_asc", "price_desc", "year_desc", "year_asc", "km_asc"]


class CatalogFilters(BaseModel):
    """Catalog search arguments; shared by the rule-based parser and the LLM tool call."""

    model_config = ConfigDict(extra="forbid")

    make: str | None = Field(default=None, description="Car make as listed in the catalog, e.g. 'Volkswagen'.")
    model: str | None = Field(default=None, description="Car model as listed in the catalog, e.g. 'Jetta'.")
    year_min: int | None = Field(default=None, ge=1900, le=2100, description="Oldest model year wanted.")
    year_max: int | None = Field(default=None, ge=1900, le=2100, description="Newest model year wanted.")
    price_min: float | None = Field(default=None, ge=0, description="Minimum price in the catalog currency.")
    price_max: float | None = Field(default=None, ge=0, description="Maximum price (budget) in the catalog currency.")
    km_max: int | None = Field(default=None, ge=0, description="Maximum mileage in kilometres.")
    features: dict[str, str] = Field(
        default_factory=dict,
        description="Extra catalog column -> wanted value, e.g. {'transmission': 'Automática'}.",
    )
    version_words: list[str] = Field(
        default_factory=list, description="Words the version must contain, e.g. ['gti'] for a Golf GTI."
    )
    sort: SortOrder = Field(default="relevance", description="Result order; relevance = newest then cheapest.")
    limit: int = Field(default=3, ge=1, le=10, description="How many cars to return (1-10).")
    exclude_ids: list[str] = Field(default_factory=list, description="Stock ids already shown, to skip.")

    @field_validator("features", mode="before")
    @classmethod
    def _stringify_feature_values(cls, value: Any) -> Any:
        # Tool calls often send {"carplay": true}; the catalog compares text, so accept it as "Sí".
        if isinstance(value, Mapping):
            return {k: display_value(v) if isinstance(v, bool | int | float) else v for k, v in value.items()}
        return value

    @field_validator("make", "model")
    @classmethod
    def _blank_to_none(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        return value or None

    @model_validator(mode="after")
    def _order_ranges(self) -> CatalogFilters:
        # LLM tool calls sometimes send min/max swapped; swapping is kinder than failing.
        if self.year_min is not None and self.year_max is not None and self.year_min > self.year_max:
            self.year_min, self.year_max = self.year_max, self.year_min
        if self.price_min is not None and self.price_max is not None and self.price_min > self.price_max:
            self.price_min, self.price_max = self.price_max, self.price_min
        return self


class CarCard(BaseModel):
    """One car as shown to the customer."""

    stock_id: str
    make: str
    model: str
    year: int
    price: float
    km: int | None = None
    version: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class CatalogResult(BaseModel):
    """Search outcome: the cards to show, how many matched and what had to be relaxed."""

    items: list[CarCard]
    total: int = Field(description="Matches before the limit was applied.")
    relaxed: list[str] = Field(
        default_factory=list, description="Filter fields dropped or widened to find alternatives; empty if exact."
    )
    unknown_features: list[str] = Field(
        default_factory=list, description="Requested feature columns the catalog does not have (ignored)."
    )
    applied: CatalogFilters = Field(description="Filters actually used, after canonicalisation and relaxation.")

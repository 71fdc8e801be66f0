"""Knowledge API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.fields import Int4, Keyword, Text

EntryType = Literal["faq", "policy", "product_info", "location", "company", "other"]


class KnowledgeEntryCreate(BaseModel):
    """One entry to import."""

    model_config = ConfigDict(extra="ignore")

    title: Text = Field(min_length=1, max_length=500)
    content: Text = Field(min_length=1, max_length=20_000)
    category: Text | None = Field(default=None, max_length=100)
    type: EntryType = "faq"
    language: Literal["es", "en"] | None = None
    keywords: list[Keyword] = Field(default_factory=list, max_length=50)
    priority: Int4 = 0


class KnowledgeImportResult(BaseModel):
    """Counts of an import; re-importing identical content creates nothing."""

    created: int
    updated: int
    unchanged: int


class KnowledgeHit(BaseModel):
    """An entry found by a search, with the chunk of it that matched and the evidence for it."""

    id: uuid.UUID = Field(description="The entry's id.")
    title: str
    content: str = Field(
        description="The entry's text; for a longer entry (over 600 characters) its matching passage (chunk)."
    )
    category: str | None
    language: str
    score: float = Field(
        description="Reciprocal rank fusion of the legs, scaled: 1.0 is first in one list, 2.0 first in both."
    )
    type: str = "faq"
    chunk_id: uuid.UUID | None = None
    ordinal: int | None = Field(default=None, description="The matching chunk's position in the entry.")
    heading: str | None = Field(default=None, description="The heading path of the matching chunk.")
    also: list[int] = Field(
        default_factory=list, description="Other chunks of the entry (ordinals) matching nearly as well."
    )
    lexical_score: float | None = Field(default=None, description="Full-text evidence (topic coverage); None: none.")
    similarity: float | None = Field(default=None, description="Cosine similarity of the embeddings; None: not used.")
    exact: bool = Field(default=False, description="Every topic word of the question is in the title or keywords.")
    coverage: float | None = Field(
        default=None, description="Share of the question's topic (words weighted by rarity) the entry has; None: none."
    )
    close_match: bool = Field(
        default=False, description="A curated FAQ matching so closely that its text is the answer (no LLM call)."
    )


class KnowledgeEntryUpdate(BaseModel):
    """Fields to change; the ones left out keep their value. A change of text bumps ``version``."""

    model_config = ConfigDict(extra="forbid")

    title: Text | None = Field(default=None, min_length=1, max_length=500)
    content: Text | None = Field(default=None, min_length=1, max_length=20_000)
    category: Text | None = Field(default=None, max_length=100)
    type: EntryType | None = None
    language: Literal["es", "en"] | None = None
    keywords: list[Keyword] | None = Field(default=None, max_length=50)
    priority: Int4 | None = None
    active: bool | None = None

    @model_validator(mode="after")
    def _no_null_for_required(self) -> KnowledgeEntryUpdate:
        """Only ``category`` may be cleared with null; the other fields always have a value."""
        for name in self.model_fields_set - {"category"}:
            if getattr(self, name) is None:
                raise ValueError(f"'{name}' cannot be null")
        return self


class KnowledgeEntryRead(BaseModel):
    """A stored entry."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    type: str
    title: str
    content: str
    category: str | None
    language: str
    keywords: list[str]
    priority: int
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime


class SynonymGroupCreate(BaseModel):
    """Terms a tenant's customers and texts use for the same thing; retrieval treats them as one."""

    model_config = ConfigDict(extra="forbid")

    terms: list[Annotated[Text, Field(min_length=1, max_length=60)]] = Field(
        min_length=2, max_length=20, description='Words or short phrases, e.g. ["sede", "sucursal", "agencia"].'
    )


class SynonymGroupRead(BaseModel):
    """A stored synonym group (terms folded: lower case, no accents)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    terms: list[str]
    created_at: datetime

"""What a conversation remembers between turns: a typed model stored as JSON in ``conversations.state``.

Rows written before the model existed carry no ``version``; they load as version 0 and are dumped at the
current version. Keys this model does not know (a newer writer's, or a retired key) are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NotRequired

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from typing_extensions import TypedDict

from app.text.normalize import Language

MEMORY_VERSION = 1


class ShownCar(TypedDict):
    """A car the conversation showed, as the next turn points at it ("el segundo", "the Mazda")."""

    stock_id: str
    make: str
    model: str
    year: int
    price: float
    version: NotRequired[str | None]


class ConversationMemory(BaseModel):
    """Structured memory the offline tier decides from and the LLM tier summarises; no chat history."""

    # Unknown keys of stored rows are dropped, never an error: a row must always load.
    model_config = ConfigDict(extra="ignore")

    version: int = 0
    language: Language | None = None
    turns: int = 0
    topics: list[str] = Field(default_factory=list)
    # The cars of the last listing, in the order shown, and the one the customer is discussing.
    shown: list[ShownCar] = Field(default_factory=list)
    focus: str | None = None
    # The last financing quote, as ``quote_payload`` returns it (numbers as JSON numbers).
    last_quote: dict[str, Any] | None = None
    # The last catalog search (``CatalogFilters`` as JSON) and whether it matched exactly, for "otros"/"más baratos".
    last_filters: dict[str, Any] | None = None
    last_exact: bool = True
    # The bot offered a person last turn: a bare "sí" now accepts it (lasts one turn).
    offered_handoff: bool = False
    # Consecutive LLM replies under the tenant's confidence threshold (a streak hands off).
    low_confidence: int = 0

    @classmethod
    def load(cls, row: Mapping[str, Any] | None) -> ConversationMemory:
        """The memory in a stored row (any version, unknown keys ignored); empty for no row.

        A key whose stored value no longer fits is forgotten rather than failing the customer's turn.
        """
        data = dict(row or {})
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            broken = {e["loc"][0] for e in error.errors() if e["loc"]}
            return cls.model_validate({k: v for k, v in data.items() if k not in broken})

    def dump(self) -> dict[str, Any]:
        """The JSON for ``conversations.state``: the keys that differ from a new conversation, and the version."""
        data = self.model_dump(mode="json", exclude_defaults=True, exclude={"version"})
        return {"version": MEMORY_VERSION, **data}


def as_memory(memory: ConversationMemory | Mapping[str, Any]) -> ConversationMemory:
    """``memory`` as the model; a plain mapping (a stored row, a test's dict) is loaded."""
    return memory if isinstance(memory, ConversationMemory) else ConversationMemory.load(memory)

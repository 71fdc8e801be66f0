"""Conversation memory: rows stored before the typed model (no version) still load and round-trip."""

from __future__ import annotations

from typing import Any

from agents.memory import MEMORY_VERSION, ConversationMemory

# A ``conversations.state`` row as the untyped dict code wrote it: no version, every key it used.
OLD_ROW: dict[str, Any] = {
    "language": "es",
    "turns": 3,
    "topics": ["greeting", "catalog", "finance"],
    "shown": [
        {
            "stock_id": "VW-002",
            "make": "Volkswagen",
            "model": "Jetta",
            "year": 2019,
            "price": 289000.0,
            "version": None,
        },
        {"stock_id": "MZ-001", "make": "Mazda", "model": "3", "year": 2020, "price": 315000.0, "version": "i Sport"},
    ],
    "focus": "VW-002",
    "last_quote": {"price": 289000.0, "down_payment": 28900.0, "term_months": 48, "monthly_payment": 7123.46},
    "last_filters": {"make": "Volkswagen", "limit": 3},
    "last_exact": False,
    "offered_handoff": True,
    "low_confidence": 1,
}


def test_an_unversioned_row_loads_every_key() -> None:
    memory = ConversationMemory.load(OLD_ROW)

    assert memory.version == 0
    assert memory.language == "es" and memory.turns == 3
    assert memory.topics == ["greeting", "catalog", "finance"]
    assert [car["stock_id"] for car in memory.shown] == ["VW-002", "MZ-001"]
    assert memory.shown[1]["version"] == "i Sport"
    assert memory.focus == "VW-002"
    assert memory.last_quote == OLD_ROW["last_quote"]
    assert memory.last_filters == {"make": "Volkswagen", "limit": 3}
    assert memory.last_exact is False and memory.offered_handoff is True and memory.low_confidence == 1


def test_an_old_row_round_trips_through_json_with_a_version() -> None:
    stored = ConversationMemory.load(OLD_ROW).dump()

    assert stored == {"version": MEMORY_VERSION, **OLD_ROW}
    assert ConversationMemory.load(stored).dump() == stored


def test_a_new_conversation_stores_only_the_version() -> None:
    assert ConversationMemory.load(None) == ConversationMemory()
    assert ConversationMemory.load({}).dump() == {"version": MEMORY_VERSION}


def test_unknown_keys_are_ignored() -> None:
    memory = ConversationMemory.load({"turns": 2, "retired_key": {"x": 1}, "from_the_future": [1, 2]})

    assert memory.turns == 2
    assert "retired_key" not in memory.dump() and "from_the_future" not in memory.dump()


def test_a_value_that_no_longer_fits_is_forgotten_not_fatal() -> None:
    memory = ConversationMemory.load({"turns": 5, "language": "fr", "shown": "not a list"})

    assert memory.turns == 5
    assert memory.language is None and memory.shown == []

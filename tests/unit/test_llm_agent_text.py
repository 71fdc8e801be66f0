"""Text hygiene of the LLM tier's replies."""

from __future__ import annotations

from agents.llm_agent import MAX_REPLY_CHARS, whatsapp_brief


def test_short_replies_are_untouched() -> None:
    assert whatsapp_brief("Hola. ¿En qué te ayudo?") == "Hola. ¿En qué te ayudo?"


def test_long_replies_are_cut_at_a_sentence_end() -> None:
    sentence = "El Mazda 3 2019 tiene transmisión automática y 48,000 km. "
    reply = whatsapp_brief(sentence * 60)
    assert len(reply) <= 2 * MAX_REPLY_CHARS and reply.endswith("km.")


def test_a_reply_without_sentence_ends_is_cut_with_an_ellipsis() -> None:
    reply = whatsapp_brief("x" * 5000)
    assert reply.endswith("…") and len(reply) <= 2 * MAX_REPLY_CHARS + 1

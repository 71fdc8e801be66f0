"""Tests for app.channels.splitting.split_message (hypothesis is not installed: seeded loops)."""

from __future__ import annotations

import itertools
import random

import pytest

from app.channels.splitting import TWILIO_MAX_BODY_CHARS, split_message


def _words(text: str) -> list[str]:
    return text.split()


def _assert_valid(text: str, parts: list[str], limit: int) -> None:
    assert parts, "non-blank text must yield at least one part"
    for part in parts:
        assert part, "no part may be empty"
        assert len(part) <= limit, f"part of {len(part)} chars exceeds limit {limit}"
    # No characters other than whitespace are lost, added or reordered.
    assert "".join("".join(parts).split()) == "".join(text.split())


def _assert_words_preserved(text: str, parts: list[str]) -> None:
    """When no word is longer than the limit, whole words survive in order."""
    assert [w for part in parts for w in _words(part)] == _words(text)


def _sentence(rng: random.Random, n_words: int) -> str:
    words = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(1, 9))) for _ in range(n_words)]
    return " ".join(words).capitalize() + rng.choice([".", "!", "?", "…"])


def test_default_limit_is_twilio_cap() -> None:
    assert TWILIO_MAX_BODY_CHARS == 1600
    assert split_message("x" * 1601) == ["x" * 1600, "x"]


def test_short_text_returned_unchanged() -> None:
    text = "  Hola!\n\nGracias por escribir.  "
    assert split_message(text) == [text]


def test_exactly_at_limit_is_one_part() -> None:
    text = ("abcd " * 400)[:1600]
    assert len(text) == 1600
    assert split_message(text) == [text]
    assert split_message("a" * 10, limit=10) == ["a" * 10]


def test_one_over_limit_splits() -> None:
    text = "word " * 320 + "end"
    parts = split_message(text)
    assert len(parts) == 2
    _assert_valid(text, parts, 1600)
    _assert_words_preserved(text, parts)


def test_blank_text_yields_no_parts() -> None:
    assert split_message("") == []
    assert split_message("   \n\n  ") == []


def test_invalid_limit() -> None:
    with pytest.raises(ValueError):
        split_message("abc", limit=0)


def test_long_reply_splits_at_paragraphs_and_packs_greedily() -> None:
    paragraphs = [f"Paragraph {i}. " + ("lorem ipsum " * 50).strip() + "." for i in range(10)]
    text = "\n\n".join(paragraphs)
    assert len(paragraphs[0]) < 700
    parts = split_message(text)
    _assert_valid(text, parts, 1600)
    _assert_words_preserved(text, parts)
    # Every part is a run of whole paragraphs, in order, and each part is full:
    # the next paragraph would not have fit.
    rebuilt: list[str] = []
    for part in parts:
        chunk = part.split("\n\n")
        assert all(p in paragraphs for p in chunk)
        rebuilt.extend(chunk)
    assert rebuilt == paragraphs
    for part, nxt in itertools.pairwise(parts):
        first_next = nxt.split("\n\n")[0]
        assert len(part) + 2 + len(first_next) > 1600
    assert len(parts) < len(paragraphs)  # greedy: several paragraphs share a part


def test_paragraph_preferred_over_line_breaks() -> None:
    para_a = "\n".join(["line a" + str(i) for i in range(5)])
    para_b = "\n".join(["line b" + str(i) for i in range(5)])
    text = para_a + "\n\n" + para_b
    parts = split_message(text, limit=len(para_a) + 10)
    assert parts == [para_a, para_b]


def test_line_breaks_preferred_over_sentences() -> None:
    lines = [
        "- item one. Still item one.",
        "- item two. Still item two.",
        "- item three.",
    ]
    text = "\n".join(lines)
    parts = split_message(text, limit=len(lines[0]) + len(lines[1]) + 1)
    assert parts == [lines[0] + "\n" + lines[1], lines[2]]


def test_giant_paragraph_splits_at_sentence_ends() -> None:
    rng = random.Random(7)
    sentences = [_sentence(rng, rng.randint(5, 25)) for _ in range(120)]
    text = " ".join(sentences)
    assert len(text) > 3 * 1600
    parts = split_message(text)
    _assert_valid(text, parts, 1600)
    _assert_words_preserved(text, parts)
    for part in parts:
        assert part[-1] in ".!?…", "every cut should fall at a sentence end"
        assert part in text


def test_sentence_split_keeps_closing_quotes() -> None:
    text = 'He said "yes." Then left! Really?! Sure… ok.'
    parts = split_message(text, limit=20)
    _assert_valid(text, parts, 20)
    assert parts[0] == 'He said "yes."'


def test_spanish_punctuation_stays_with_its_sentence() -> None:
    sentences = [
        "¡Hola, bienvenido a nuestra tienda!",
        "¿En qué podemos ayudarte hoy?",
        "Tenemos envíos a todo el país.",
        "¿Quieres ver el catálogo?",
        "¡Gracias por escribirnos!",
    ]
    text = " ".join(sentences)
    limit = max(len(s) for s in sentences) + 5
    parts = split_message(text, limit=limit)
    _assert_valid(text, parts, limit)
    _assert_words_preserved(text, parts)
    for part in parts:
        assert part[0] in "¡¿T", f"part must start at a sentence opening: {part!r}"
        assert part[-1] in ".!?"
        assert "¿" not in part[-1:] and "¡" not in part[-1:]
    rebuilt = " ".join(parts)
    assert rebuilt == text


def test_falls_back_to_whitespace_inside_a_long_sentence() -> None:
    # A single sentence with no punctuation at all.
    text = " ".join(f"w{i}" for i in range(2000))
    parts = split_message(text)
    _assert_valid(text, parts, 1600)
    _assert_words_preserved(text, parts)
    assert len(parts) >= 2


def test_giant_word_is_cut_mid_word_as_last_resort() -> None:
    word = "".join(chr(ord("a") + i % 26) for i in range(4000))
    text = "intro " + word + " outro"
    parts = split_message(text)
    _assert_valid(text, parts, 1600)
    # The word is not glued onto the short intro; its tail packs with the outro.
    assert parts == ["intro", word[:1600], word[1600:3200], word[3200:] + " outro"]


def test_hard_cut_does_not_split_combining_sequences() -> None:
    word = "e\u0301" * 10  # "é" as e + combining acute accent
    parts = split_message(word, limit=5)
    _assert_valid(word, parts, 5)
    for part in parts:
        assert not part.startswith("\u0301")
    assert "".join(parts) == word


def test_tail_of_oversized_paragraph_packs_with_next_paragraph() -> None:
    big = " ".join([f"Sentence number {i} here." for i in range(10)])
    text = big + "\n\nShort tail."
    parts = split_message(text, limit=60)
    _assert_valid(text, parts, 60)
    _assert_words_preserved(text, parts)
    assert parts[-1].endswith("Short tail.")


@pytest.mark.parametrize("seed", range(40))
def test_random_texts_respect_limits_and_order(seed: int) -> None:
    rng = random.Random(seed)
    limit = rng.choice([20, 50, 160, 500, 1600])
    paragraphs: list[str] = []
    for _ in range(rng.randint(1, 15)):
        lines = []
        for _ in range(rng.randint(1, 4)):
            lines.append(" ".join(_sentence(rng, rng.randint(1, 30)) for _ in range(rng.randint(1, 8))))
        paragraphs.append("\n".join(lines))
    if rng.random() < 0.3:
        paragraphs.insert(rng.randrange(len(paragraphs) + 1), "x" * rng.randint(1, 3 * limit))
    text = rng.choice(["\n\n", "\n \n", "\r\n\r\n", "\n\n\n"]).join(paragraphs)
    parts = split_message(text, limit=limit)
    _assert_valid(text, parts, limit)
    if all(len(w) <= limit for w in _words(text)):
        _assert_words_preserved(text, parts)
    if len(text) <= limit:
        assert parts == [text]

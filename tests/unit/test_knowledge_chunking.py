"""Chunking that respects Markdown structure, with overlap."""

from __future__ import annotations

import itertools

import pytest

from app.knowledge.chunking import CHUNK_CHARS, chunk_entry


def test_a_short_faq_is_one_chunk_titled_by_the_entry() -> None:
    [chunk] = chunk_entry("Garantía", "Seis meses en motor y transmisión.")
    assert (chunk.ordinal, chunk.heading, chunk.content) == (0, "Garantía", "Seis meses en motor y transmisión.")


def test_sections_never_share_a_chunk_and_know_their_heading_path() -> None:
    doc = (
        "Intro.\n\n## Requisitos\n\n- INE\n- Comprobante\n\n### Extranjeros\n\nPasaporte.\n\n"
        "## Plazos\n\n12 a 72 meses."
    )
    chunks = chunk_entry("Crédito", doc)
    assert [(c.heading, c.content) for c in chunks] == [
        ("Crédito", "Intro."),
        ("Crédito / Requisitos", "- INE\n- Comprobante"),
        ("Crédito / Requisitos / Extranjeros", "Pasaporte."),
        ("Crédito / Plazos", "12 a 72 meses."),
    ]
    assert [c.ordinal for c in chunks] == [0, 1, 2, 3]


def test_a_long_section_is_cut_at_sentence_boundaries_with_overlap() -> None:
    body = " ".join(f"Frase número {i} sobre el trámite del crédito automotriz." for i in range(80))
    chunks = chunk_entry("Crédito", body)
    assert len(chunks) > 3 and all(len(c.content) <= CHUNK_CHARS for c in chunks)
    for before, after in itertools.pairwise(chunks):
        assert after.content[:30] in before.content  # the start of each piece repeats the end of the last
    assert all(c.content.endswith(".") or c.content[-1].isalnum() for c in chunks)
    joined = " ".join(c.content for c in chunks)
    assert all(f"Frase número {i} " in joined for i in range(80))  # nothing lost


def test_code_fences_and_tables_stay_readable() -> None:
    doc = "## Tabla\n\n| plazo | tasa |\n|---|---|\n| 12 | 13.9% |\n| 24 | 13.9% |\n"
    [chunk] = chunk_entry("Tasas", doc)
    assert "| 12 | 13.9% |" in chunk.content and chunk.heading == "Tasas / Tabla"


def test_headings_without_text_still_give_the_entry_one_chunk() -> None:
    [chunk] = chunk_entry("Vacío", "## Nada aquí")
    assert chunk.heading == "Vacío"


def test_overlap_must_be_smaller_than_the_chunk() -> None:
    with pytest.raises(ValueError, match="overlap"):
        chunk_entry("x", "y", chunk_chars=100, overlap_chars=100)

"""Company documents as they really are: import keeps everything, sub-parts, WhatsApp formatting, synonyms."""

from __future__ import annotations

from pathlib import Path

from agents.specialists.info import wants_more
from app.knowledge.answers import More, start_queue, take, to_whatsapp
from app.knowledge.chunking import CHUNK_CHARS, chunk_entry
from app.knowledge.retrieval import query_terms
from app.knowledge.service import parse_markdown
from app.knowledge.synonyms import lexicon_with

DOCUMENT = Path(__file__).resolve().parents[1] / "knowledge_docs" / "seminuevos_del_norte.md"


def test_the_paragraph_before_the_first_heading_is_kept_as_the_opening_entry() -> None:
    entries = parse_markdown(DOCUMENT.read_text(encoding="utf-8"))
    opening = [e for e in entries if e.content.startswith("Seminuevos del Norte es un grupo")]
    assert len(opening) == 1 and opening[0].type == "company" and "empresa" in opening[0].keywords
    assert opening[0].title == "Seminuevos del Norte — información para clientes"


def test_a_document_without_headings_and_repeated_headings_lose_nothing() -> None:
    [only] = parse_markdown("Somos un lote familiar.\n\n**Horario**\nDe 9 a 6.")
    assert only.title == "Información general" and "De 9 a 6." in only.content
    twice = parse_markdown("## Horario\nLunes a viernes.\n## Horario\nSábados de 9 a 2.")
    assert [(e.title, e.content) for e in twice] == [("Horario", "Lunes a viernes.\n\nSábados de 9 a 2.")]
    [english] = parse_markdown("We are a family dealer in Austin since 1998, selling used cars and trucks.")
    assert english.title == "General information" and english.language == "en"


def test_a_long_section_is_cut_at_its_bold_lines_not_at_900_characters() -> None:
    body = "Trabajamos con varias financieras.\n\n" + "\n\n".join(
        f"**Parte {i}**\n" + " ".join(f"Detalle {i}.{j} del financiamiento." for j in range(8)) for i in range(5)
    )
    chunks = chunk_entry("Financiamiento", body)
    assert [c.heading for c in chunks] == [f"Financiamiento / Parte {i}" for i in range(5)]
    assert chunks[0].content.startswith("Trabajamos con varias financieras.\n\n**Parte 0**")  # short lead-in joins
    assert all(c.content.count("**Parte") == 1 for c in chunks)
    assert all(len(c.content) <= CHUNK_CHARS for c in chunks)


def test_bold_lead_list_items_are_sub_parts_and_short_sections_stay_whole() -> None:
    items = "\n".join(f"- **Punto {i}:** " + "texto largo del punto " * 8 for i in range(5))
    chunks = chunk_entry("Toma de auto", f"Recibimos tu auto.\n\n{items}")
    assert [c.heading.split(" / ")[-1] for c in chunks] == [f"Punto {i}" for i in range(5)]
    [short] = chunk_entry("Horario", "- **Lunes a viernes:** 9 a 19 h\n- **Sábados:** 9 a 15 h")
    assert short.heading == "Horario"


def test_markdown_becomes_whatsapp_formatting() -> None:
    text = to_whatsapp(
        "## Garantía\n\n**Motor** y _caja_ por *seis* meses. ~~Sin costo~~\n\n* uno\n+ dos\n\n"
        "| Plazo | Tasa |\n|---|---|\n| 12 | 13.9% |\n\n---\n\nVer [aviso](https://x.mx/aviso) y `código`."
    )
    assert text == (
        "*Garantía*\n\n*Motor* y _caja_ por _seis_ meses. ~Sin costo~\n\n- uno\n- dos\n\n"
        "- 12: 13.9%\n\nVer aviso (https://x.mx/aviso) y código."
    )
    plain = "Tenemos dos sucursales. Polanco: Av. Ejército Nacional 843, CDMX; abre de 9:00 a 19:00."
    assert to_whatsapp(plain) == plain


def test_an_answer_fits_the_budget_and_the_rest_follows_where_it_stopped() -> None:
    entry = next(e for e in parse_markdown(DOCUMENT.read_text(encoding="utf-8")) if e.title.endswith("Financiamiento"))
    chunks = chunk_entry(entry.title, entry.content)
    more: More | None = More(entry_id="e", head=0, queue=start_queue(chunks, 0))
    told: list[str] = []
    while more is not None:
        text, more, cut = take(chunks, entry.title, more, budget=450)
        assert 0 < len(text) <= 450 and not cut and "**" not in text
        told.append(text)
    assert told[0].startswith("Trabajamos con cuatro financieras") and len(told) >= 2
    assert "*Requisitos*\n- Identificación oficial" in "\n\n".join(told)
    item = start_queue(chunks, 3)
    assert item[0] == 3 and sorted(item) == [c.ordinal for c in chunks]  # a sub-part first, then the others


def test_synonyms_and_phrases_expand_a_question() -> None:
    terms = query_terms("¿cuánto es el enganche?", language="es")
    assert any(("pago inicial", 0.9) in term for term in terms)
    [phrase] = [t for t in query_terms("¿me reciben mi carro a cuenta?", language="es") if t[0][0] == "carro a cuenta"]
    assert ("toma de auto", 0.9) in phrase
    english = query_terms("do you have a branch in Monterrey?", language="en", translate=True)
    assert any(("sucursal", 0.8) in term and ("sede", 0.8) in term for term in english)
    assert not any(("sede", 0.8) in term for term in query_terms("branch", language="en"))
    tenant = lexicon_with([["Trueque", "toma de auto"]])
    assert ("toma de auto", 0.9) in query_terms("trueque", lexicon=tenant)[0]


def test_what_takes_up_the_offer_to_say_more() -> None:
    for text in ("sí", "Sí, dime más", "tell me more", "¿y qué más?", "dale", "yes please", "más info"):
        assert wants_more(text), text
    for text in ("no", "ok", "¿y en Querétaro?", "gracias", "¿cuánto cuesta?"):
        assert not wants_more(text), text


def test_bold_lead_lines_without_bullets_are_sub_parts_too() -> None:
    body = "\n".join(f"**Tema {i}:** " + "explicación detallada del tema " * 6 for i in range(4))
    chunks = chunk_entry("Políticas", body)
    assert [c.heading for c in chunks] == [f"Políticas / Tema {i}" for i in range(4)]

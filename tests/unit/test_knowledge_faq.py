"""FAQ-style company texts: chunked per question-answer pair, answered without labels, lists kept whole."""

from __future__ import annotations

import uuid

from agents.specialists.info import on_topic
from app.knowledge.answers import More, about_whole_section, names_part, overview, start_queue, take
from app.knowledge.chunking import Chunk, chunk_entry, is_faq
from app.knowledge.retrieval import query_terms
from app.knowledge.schemas import KnowledgeHit
from app.knowledge.service import parse_markdown

BRANCHES = """**P: ¿Dónde están sus sucursales?**
**R:** Contamos con tres sucursales:

1. **Culiacán** (matriz)
   - Dirección: Blvd. Emiliano Zapata 2100, Col. Centro, Culiacán, Sin.
   - Horario: lunes a sábado de 8:30 a 18:00; domingo de 10:00 a 13:00.
   - Aquí está el área de avalúos y el taller de preparación.
2. **Mazatlán**
   - Dirección: Av. del Mar 455, Col. Flamingos, Mazatlán, Sin.
   - Horario: martes a sábado de 9:30 a 19:30; domingo de 11:00 a 14:00.
   - **Cerrada los lunes.**
3. **Los Mochis**
   - Dirección: Blvd. Rosales 88 Pte., Col. Bienestar, Los Mochis, Sin.
   - Horario: lunes a viernes de 9:00 a 18:00; sábado de 9:00 a 13:00.
   - **Cerrada los domingos.**

**P: ¿Abren en días festivos?**
**R:** No, los días festivos oficiales las tres sucursales permanecen cerradas.

**P: ¿Me traen un auto de otra sucursal?**
**R:** Sí, lo trasladamos sin costo en 2 o 3 días hábiles.
"""

TRADE_IN = """**Pregunta:** ¿Aceptan mi auto a cuenta?
**Respuesta:** Sí, lo tomamos a cuenta de cualquier unidad con estas condiciones:

- Modelo 2015 o más reciente.
- Factura a tu nombre y tenencias pagadas.
- Sin reporte de robo.

**Pregunta:** ¿Cuánto dura el avalúo?
**Respuesta:** Unos 40 minutos, y es gratis.
"""


def _entry(text: str, title: str = "Sucursales") -> list[tuple[str, str, int]]:
    return [(c.heading, c.content, c.section) for c in chunk_entry(title, text)]


def test_each_question_answer_pair_is_its_own_chunk_without_labels_however_short() -> None:
    chunks = chunk_entry("Tu auto a cuenta", TRADE_IN)
    assert [c.heading for c in chunks] == [
        "Tu auto a cuenta / ¿Aceptan mi auto a cuenta?",
        "Tu auto a cuenta / ¿Cuánto dura el avalúo?",
    ]
    assert chunks[0].content.startswith("**¿Aceptan mi auto a cuenta?**\nSí, lo tomamos a cuenta")
    assert "- Sin reporte de robo." in chunks[0].content  # the list stays with its lead-in
    assert all("Respuesta" not in c.content and "Pregunta" not in c.content for c in chunks)
    assert chunks[0].section != chunks[1].section  # each pair answers on its own
    english = chunk_entry("FAQ", "Q: Do you deliver?\nA: Yes, within the city.\n\nQ: Do you finance?\nA: Yes.")
    assert [(c.heading, c.content) for c in english] == [
        ("FAQ / Do you deliver?", "**Do you deliver?**\nYes, within the city."),
        ("FAQ / Do you finance?", "**Do you finance?**\nYes."),
    ]


def test_bold_question_lines_make_a_faq_and_plain_bold_lines_alone_do_not() -> None:
    assert is_faq("**¿Cómo aparto?**\nCon $3,000.\n\n**¿Me devuelven el depósito?**\nSí.\n\n**Extensión**\nUna vez.")
    assert is_faq("**P: ¿Tienen crédito?**\n**R:** Sí.")
    assert not is_faq("**Garantía incluida**\nTres meses.\n\n**Garantía extendida**\nDoce meses.")
    assert not is_faq("**¿Reciben mi auto?**\nSí.\n\n**Avalúo**\nGratis.")  # one question among sub-parts
    chunks = chunk_entry("Apartado", "**¿Cómo aparto?**\nCon $3,000.\n\n**¿Me devuelven el depósito?**\nSí.")
    assert [c.content for c in chunks] == ["**¿Cómo aparto?**\nCon $3,000.", "**¿Me devuelven el depósito?**\nSí."]


def test_a_long_pair_is_cut_at_its_list_items_each_with_its_sub_bullets() -> None:
    chunks = chunk_entry("Sucursales", BRANCHES)
    assert [c.heading.split(" / ")[-1] for c in chunks] == [
        "Culiacán",
        "Mazatlán",
        "Los Mochis",
        "¿Abren en días festivos?",
        "¿Me traen un auto de otra sucursal?",
    ]
    assert all("¿Dónde están sus sucursales?" in c.heading for c in chunks[:3])
    # The question and the list's lead-in travel with the first item; every item keeps its sub-bullets.
    assert chunks[0].content.startswith(
        "**¿Dónde están sus sucursales?**\nContamos con tres sucursales:\n\n1. **Culiacán**"
    )
    assert chunks[2].content.startswith("3. **Los Mochis**") and chunks[2].content.endswith("**Cerrada los domingos.**")
    assert len({c.section for c in chunks[:3]}) == 1 and chunks[3].section != chunks[0].section


def _answer(text: str, ordinal: int, question: str = "", budget: int = 560) -> tuple[str, More | None, bool]:
    chunks = chunk_entry("Sucursales", text)
    more = More(entry_id="e", head=ordinal, queue=start_queue(chunks, ordinal))
    if question and names_part(chunks, ordinal, "Sucursales", question):
        more = more.model_copy(update={"queue": [ordinal]})
    return take(chunks, "Sucursales", more, budget=budget)


def test_the_pair_answers_alone_labels_dropped_and_a_following_pair_says_its_question() -> None:
    body, left, _ = _answer(TRADE_IN, 0)
    assert body.startswith("Sí, lo tomamos a cuenta de cualquier unidad con estas condiciones:\n\n- Modelo 2015")
    assert "- Sin reporte de robo." in body and "Pregunta" not in body and "?:" not in body
    assert left is None  # the next question is not pasted after it
    body, _, _ = _answer(BRANCHES, 3)
    assert body.startswith("No, los días festivos") and "*" not in body.split("\n")[0]


def test_a_branch_named_in_the_question_is_the_answer_and_its_sub_bullets_stay_with_it() -> None:
    chunks = chunk_entry("Sucursales", BRANCHES)
    assert names_part(chunks, 1, "Sucursales", "¿a qué hora abren en Mazatlán?")
    assert not names_part(chunks, 0, "Sucursales", "¿a qué hora abren en Culiacán?")  # the pair's start: all of it
    body, _, _ = _answer(BRANCHES, 1, "¿a qué hora abren en Mazatlán?")
    assert body.startswith("*Mazatlán*\n") and "martes a sábado de 9:30 a 19:30" in body
    assert "*Cerrada los lunes.*" in body and "Los Mochis" not in body
    # Read on from one branch, the others read the same way: a bold name, then its lines (no "3." midway).
    chunks_more = More(entry_id="e", head=1, queue=start_queue(chunks, 1))
    body, _, _ = take(chunks, "Sucursales", chunks_more, budget=2000)
    assert "\n\n*Los Mochis*\n" in body and "\n\n*Culiacán* (matriz)\n" in body
    assert "Contamos con tres sucursales:" not in body and "¿Dónde están" not in body


def test_a_lead_in_never_ends_an_answer_without_its_items() -> None:
    for budget in range(150, 700, 7):
        body, left, cut = _answer(BRANCHES, 0, budget=budget)
        assert body.strip() and (cut or not body.rstrip().endswith(":")), (budget, body)
    body, left, cut = _answer(BRANCHES, 0, budget=560)
    assert body.startswith("Contamos con tres sucursales:\n\n1. *Culiacán* (matriz)") and left is not None
    assert not cut and body.endswith("*Cerrada los lunes.*")  # cut between items, never inside one
    lead_only = chunk_entry("Pagos", "Aceptamos:\n\n- Transferencia.\n- Tarjeta.\n\nTambién cheque de caja.")
    more = More(entry_id="e", head=0, queue=[0])
    body, left, cut = take(lead_only, "Pagos", more, budget=40)
    assert body == "Aceptamos:\n\n- Transferencia.\n- Tarjeta." and left is not None and not cut


def test_a_question_about_every_item_gets_each_items_matching_lines() -> None:
    chunks = chunk_entry("Sucursales", BRANCHES)
    queue = start_queue(chunks, 0)
    for question, wanted, unwanted in (
        ("¿a qué hora abren el sábado?", "*Los Mochis*: Horario: lunes a viernes de 9:00 a 18:00; sábado", "Dirección"),
        (
            "¿y los domingos?",
            "*Mazatlán*: Horario: martes a sábado de 9:30 a 19:30; domingo de 11:00 a 14:00.\n"
            "*Los Mochis*: Cerrada los domingos.",
            "Blvd.",
        ),
    ):
        terms = [[w for w, _ in group] for group in query_terms(question)]
        assert about_whole_section(chunks, queue, terms, question=question, title="Sucursales")
        brief = overview(chunks, "Sucursales", queue, terms)
        assert brief is not None and brief.startswith("Contamos con tres sucursales:\n*Culiacán* (matriz): Horario:")
        assert wanted in brief and unwanted not in brief and "P:" not in brief and "?:" not in brief
    assert overview(chunks, "Sucursales", queue) is None  # no question's terms: no guessing which lines matter


def test_an_overview_line_keeps_a_lead_ins_items() -> None:
    text = (
        "**Garantía incluida**\nTres meses en motor y caja. " + "Detalle de la cobertura incluida. " * 8 + "\n\n"
        "**Requisitos**\nPara hacerla válida necesitas:\n\n- Póliza.\n- Servicios al corriente.\n\n"
        "**Garantía extendida**\nDoce meses por $8,900. " + "Detalle de la cobertura extendida. " * 8
    )
    chunks = chunk_entry("Garantía", text)
    brief = overview(chunks, "Garantía", start_queue(chunks, 0))
    assert brief is not None
    assert "*Requisitos:* Para hacerla válida necesitas: Póliza; Servicios al corriente" in brief


def test_the_opening_paragraph_of_a_faq_text_is_an_entry_that_says_since_when() -> None:
    doc = "Autos del Pacífico vende seminuevos en Sinaloa desde 1999.\n\n## Sucursales\n\n" + BRANCHES
    entries = parse_markdown(doc)
    opening = next(e for e in entries if e.type == "company")
    assert opening.content.startswith("Autos del Pacífico vende") and "empresa" in opening.keywords
    hit = KnowledgeHit(
        id=uuid.uuid4(), title=opening.title, content=opening.content, category=None, language="es", score=1.0
    )
    assert on_topic("¿desde cuándo tienen el negocio?", [hit]) == [hit]  # "desde 1999" says since when
    other = hit.model_copy(update={"content": "Abrimos de 9 a 18 h."})
    assert on_topic("¿desde cuándo tienen el negocio?", [other]) == []
    terms = {w for group in query_terms("¿desde cuándo tienen el negocio?") for w, _ in group}
    assert "empresa" in terms  # the opening entry's keyword


def test_a_lead_in_at_the_end_of_one_chunk_waits_for_the_items_in_the_next() -> None:
    chunks = [
        Chunk(0, "Pagos", "Puedes pagar en sucursal.\n\nAceptamos:", 0),
        Chunk(1, "Pagos", "- " + "Transferencia SPEI a la cuenta de la empresa. " * 3 + "\n- Tarjeta.", 0),
    ]
    more = More(entry_id="e", head=0, queue=[0, 1])
    body, left, cut = take(chunks, "Pagos", more, budget=60)
    assert body == "Puedes pagar en sucursal." and not cut and left is not None
    rest, _, _ = take(chunks, "Pagos", left, budget=600)
    assert rest.startswith("Aceptamos:\n\n- Transferencia SPEI") and rest.endswith("- Tarjeta.")
    alone = [Chunk(0, "Pagos", "Aceptamos:", 0), chunks[1]]
    body, left, cut = take(alone, "Pagos", more, budget=60)
    assert body.startswith("Aceptamos:\n\n- Transferencia SPEI") and cut and left is not None


def test_other_faq_shapes_lose_their_labels_too() -> None:
    plain = chunk_entry("Crédito", "P: ¿Tienen crédito?\nR: Sí, con 3 financieras.\n\nP: ¿Y el enganche?\nR: 20%.")
    assert [c.content for c in plain] == ["**¿Tienen crédito?**\nSí, con 3 financieras.", "**¿Y el enganche?**\n20%."]
    asked = [
        c
        for e in parse_markdown("# FAQ\n\n### ¿Tienen crédito?\n**R:** Sí, con tres.")
        for c in chunk_entry(e.title, e.content)
    ]
    assert [(c.heading, c.content) for c in asked] == [("FAQ / ¿Tienen crédito?", "Sí, con tres.")]
    prose = chunk_entry("Crédito", "Tenemos crédito. R: no es etiqueta.\n\n**Plazos**\n12 a 48 meses.")
    assert [c.content for c in prose] == ["Tenemos crédito. R: no es etiqueta.\n\n**Plazos**\n12 a 48 meses."]

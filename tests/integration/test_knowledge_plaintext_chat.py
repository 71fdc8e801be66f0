"""A company text pasted from Word (ALL-CAPS titles, "1.-" numbering, a tab-separated hours table, no Markdown)
imported through the API and asked about through the chat API: each answer is its own section, lists start with
their lead-in, the table reads as lines, and no answer runs into the next section's title."""

from __future__ import annotations

from typing import Any

from tests.helpers import chat, import_company_text, make_tenant
from tests.unit.test_knowledge_plaintext import WORD_TEXT

TITLES = ("SUCURSALES Y HORARIOS", "ENVÍOS", "CRÉDITO", "Crédito\n", "Envíos\n")


def _clean(reply: str) -> None:
    assert "\t" not in reply, reply
    assert not any(title in reply for title in TITLES), reply  # never the next section's title


async def test_a_word_text_answers_each_question_from_its_own_section(client: Any) -> None:
    tenant = await make_tenant(client, name="Mueblería La Paz")
    await import_company_text(client, tenant, WORD_TEXT)

    shipping = await chat(client, tenant, "cuanto cobran de envio a uruapan?")
    assert shipping["agent"] == "info" and "$450" in shipping["reply"], shipping["reply"]
    assert "garantía" not in shipping["reply"].lower()
    _clean(shipping["reply"])

    papers = await chat(client, tenant, "que documentos piden para el credito?")
    assert "Documentos para el crédito" in papers["reply"] and "Comprobante de domicilio" in papers["reply"]
    assert not papers["reply"].lstrip().startswith(("2.", "3.", "4.", "5.")), papers["reply"]
    _clean(papers["reply"])

    hours = await chat(client, tenant, "a que hora abren los domingos?")
    assert "domingo 11:00–17:00" in hours["reply"] or "domingo cerrado" in hours["reply"], hours["reply"]
    _clean(hours["reply"])

    warranty = await chat(client, tenant, "cuanto dura la garantia de los muebles?")
    assert "1 año" in warranty["reply"] and "$450" not in warranty["reply"], warranty["reply"]

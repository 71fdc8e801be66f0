"""A dealer's real company text through the real entry points: Markdown import, chat answers, synonyms, CLI.

The document (tests/knowledge_docs/seminuevos_del_norte.md) is written the way dealers write: an opening
paragraph before any heading, a title, sections whose sub-parts are bold lines or bold-lead list items,
a table. Customers ask in their own words ("sucursal", "enganche", "a cuenta") and in English.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from app.text.normalize import fold
from tests.helpers import chat, make_tenant, new_number
from tests.integration.agentctl import Cli

DOCUMENT = Path(__file__).resolve().parents[1] / "knowledge_docs" / "seminuevos_del_norte.md"
RAW_MARKDOWN = re.compile(r"\*\*|^#{1,6}\s|^\s*\|.*\|\s*$|\]\(", re.MULTILINE)


async def _dealer(client: Any) -> Any:
    # Its financing terms agree with its text (the finance step answers "¿cuánto de enganche?" from them).
    finance = {"annual_rate": 0.129, "terms_months": [12, 24, 36, 48, 60], "min_down_payment_ratio": 0.20}
    tenant = await make_tenant(client, name="Seminuevos del Norte", finance=finance)
    r = await client.post(
        f"/v1/tenants/{tenant.slug}/knowledge/import",
        content=DOCUMENT.read_bytes(),
        headers={**tenant.headers, "content-type": "text/markdown"},
    )
    assert r.status_code == 200, r.text
    return tenant


def _whatsapp_ready(reply: str) -> None:
    """Concise, WhatsApp formatting only, never starting mid-list."""
    assert len(reply) <= 600, (len(reply), reply)
    assert not RAW_MARKDOWN.search(reply), reply
    assert not reply.lstrip().startswith(("- ", "* ", "• ")), reply


async def test_import_keeps_every_line_including_the_opening_paragraph(client: Any) -> None:
    tenant = await _dealer(client)
    entries = (await client.get(f"/v1/tenants/{tenant.slug}/knowledge", headers=tenant.headers)).json()
    stored = "\n".join(e["content"] for e in entries)
    for line in DOCUMENT.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            assert line.strip() in stored, line
    opening = next(e for e in entries if e["content"].startswith("Seminuevos del Norte es un grupo"))
    assert opening["title"] == "Seminuevos del Norte — información para clientes"
    assert "quiénes somos" in opening["keywords"] and opening["type"] == "company"
    # The same document again changes nothing.
    again = await client.post(
        f"/v1/tenants/{tenant.slug}/knowledge/import",
        content=DOCUMENT.read_bytes(),
        headers={**tenant.headers, "content-type": "text/markdown"},
    )
    assert again.json()["created"] == 0 and again.json()["updated"] == 0


async def test_bold_line_sub_parts_are_found_on_their_own(client: Any) -> None:
    tenant = await _dealer(client)
    search = f"/v1/tenants/{tenant.slug}/knowledge/search"
    [hit, *_] = (await client.get(search, params={"q": "¿qué requisitos piden?"}, headers=tenant.headers)).json()
    assert hit["heading"].endswith("Financiamiento / Requisitos")
    assert hit["content"].startswith("**Requisitos**") and "Pago inicial" not in hit["content"]


async def test_answers_are_the_passage_in_whatsapp_format(client: Any) -> None:
    tenant = await _dealer(client)
    cases = {
        "¿cuánto es el enganche mínimo?": ["20%"],  # the text says "pago inicial"
        "hola, ¿qué sucursales tienen?": ["tres sedes", "mitras"],  # the text says "sedes"
        "¿tienen agencias en Saltillo?": ["venustiano carranza"],
        "¿me reciben mi carro a cuenta?": ["valuacion"],  # the text says "toma de auto"
        "¿se puede apartar un auto?": ["5,000"],  # the text says "depósito"
        "¿cuánto dura la garantía?": ["12 meses o 20,000 km", "6 meses o 10,000 km"],  # a table
        "¿qué documentos necesito para la toma de auto?": ["factura", "dos llaves"],  # a bold-lead list item
        "¿puedo devolver el auto?": ["5 dias o 300 km"],
    }
    for question, facts in cases.items():
        reply = await chat(client, tenant, question)
        if question.startswith("¿cuánto es el enganche"):  # the finance step may answer from the same terms
            assert "20%" in reply["reply"], reply["reply"]
            continue
        assert reply["agent"] == "info" and reply["sources"], (question, reply["reply"])
        _whatsapp_ready(reply["reply"])
        for fact in facts:
            assert fact in fold(reply["reply"]), (question, fact, reply["reply"])
    toma = await chat(client, tenant, "¿qué documentos necesito para la toma de auto?")
    assert toma["reply"].startswith("*Documentos para la toma:*")


async def test_a_long_section_answers_in_part_and_yes_tells_the_rest(client: Any) -> None:
    tenant = await _dealer(client)
    user = f"u-{uuid.uuid4().hex[:10]}"
    first = await chat(client, tenant, "¿manejan crédito?", user=user)
    _whatsapp_ready(first["reply"])
    assert "cuatro financieras" in first["reply"] and first["reply"].endswith("¿Quieres que te cuente más?")
    for part in ("*Pago inicial:*", "*Plazos y tasa:*", "*Requisitos:*", "*Buró de crédito:*"):
        assert part in first["reply"]  # a whole section asked about: every sub-part in brief
    more = await chat(client, tenant, "sí", user=user)
    _whatsapp_ready(more["reply"])
    assert more["agent"] == "info" and more["reply"] != first["reply"]
    assert "35% o más" in more["reply"]  # the details
    told, last = more["reply"], more["reply"]
    for _ in range(5):
        if not last.endswith("¿Quieres que te cuente más?"):
            break
        last = (await chat(client, tenant, "dime más", user=user))["reply"]
        _whatsapp_ready(last)
        told += last
    for fact in ("20%", "12.9%", "*Requisitos*", "Comprobante de domicilio", "*Buró de crédito*", "pago inicial mayor"):
        assert fact in told, fact
    assert not last.endswith("¿Quieres que te cuente más?")  # the whole section told, and no more offered


async def test_an_english_question_over_spanish_text_says_so(client: Any) -> None:
    tenant = await _dealer(client)
    reply = await chat(client, tenant, "Do you have a branch in Saltillo?")
    assert reply["reply"].startswith("Here's what our information says (it's written in Spanish):")
    assert "Venustiano Carranza" in reply["reply"]
    _whatsapp_ready(reply["reply"])
    trade = await chat(client, tenant, "do you take trade-ins?")
    assert "(it's written in Spanish)" in trade["reply"] and "valuación" in trade["reply"]
    _whatsapp_ready(trade["reply"])


async def test_dont_know_only_when_nothing_answers_with_a_helpful_offer(client: Any) -> None:
    tenant = await _dealer(client)
    reply = await chat(client, tenant, "¿venden motos acuáticas?")
    assert reply["sources"] == [] and "asesor" in reply["reply"]
    assert "Lo que sí puedo contarte:" in reply["reply"]
    assert "grupo regiomontano" not in reply["reply"]


async def test_tenant_synonyms_through_the_api(client: Any) -> None:
    tenant = await _dealer(client)
    base = f"/v1/tenants/{tenant.slug}/knowledge/synonyms"
    before = await chat(client, tenant, "¿aceptan el trueque de mi coche?")
    assert before["sources"] == []
    created = await client.post(base, json={"terms": ["Trueque", "toma de auto"]}, headers=tenant.headers)
    assert created.status_code == 201, created.text
    assert created.json()["terms"] == ["trueque", "toma de auto"]
    after = await chat(client, tenant, "¿aceptan el trueque de mi coche?")
    assert after["sources"] and after["sources"][0]["title"].endswith("Toma de auto")
    listed = (await client.get(base, headers=tenant.headers)).json()
    assert [g["terms"] for g in listed] == [["trueque", "toma de auto"]]
    bad = await client.post(base, json={"terms": ["solo"]}, headers=tenant.headers)
    assert bad.status_code == 422
    same = await client.post(base, json={"terms": ["Sede", "sede!"]}, headers=tenant.headers)
    assert same.status_code == 422 and "terms" in same.text
    other = await make_tenant(client)
    assert (await client.get(f"/v1/tenants/{other.slug}/knowledge/synonyms", headers=other.headers)).json() == []
    gone = await client.delete(f"{base}/{created.json()['id']}", headers=other.headers)
    assert gone.status_code in (403, 404)
    assert (await client.delete(f"{base}/{created.json()['id']}", headers=tenant.headers)).status_code == 204
    assert (await chat(client, tenant, "¿aceptan el trueque de mi coche?"))["sources"] == []
    replaced = await client.put(base, json=[{"terms": ["trueque", "toma de auto"]}], headers=tenant.headers)
    assert replaced.status_code == 200 and len(replaced.json()) == 1


def test_import_and_synonyms_through_the_cli(cli: Cli) -> None:
    slug = f"t-{uuid.uuid4().hex[:10]}"
    cli.ok("tenant", "create", slug, "--name", "Seminuevos del Norte", "--number", new_number())
    out = cli.ok("knowledge", "import", slug, str(DOCUMENT))
    assert "'created': 8" in out
    assert "Nuestras sedes" in cli.ok("knowledge", "search", slug, "¿dónde están sus sucursales?")
    assert "no entry answers" in cli.ok("knowledge", "search", slug, "trueque")
    added = cli.ok("knowledge", "synonyms", "add", slug, "trueque", "toma de auto")
    group_id = added.split(":", 1)[0].strip()
    assert "trueque, toma de auto" in cli.ok("knowledge", "synonyms", "list", slug)
    assert "Toma de auto" in cli.ok("knowledge", "search", slug, "trueque")
    assert cli.invoke("knowledge", "synonyms", "add", slug, "solo").exit_code != 0
    cli.ok("knowledge", "synonyms", "delete", slug, group_id)
    assert group_id not in cli.ok("knowledge", "synonyms", "list", slug)

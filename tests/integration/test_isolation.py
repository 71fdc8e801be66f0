"""Tenant isolation: catalogs, knowledge, conversations and customer memory never cross tenants."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import pytest

from tests.fakes.twilio_server import FakeTwilioServer
from tests.helpers import TenantHandle, admin_headers, make_tenant, new_number, post_whatsapp

# Both dealers stock a Mazda and a Corolla, so a leak could not hide behind "no such make here".
CARS_A = """stock_id,make,model,year,price,km,version,body
ALFA-1,Mazda,3,2019,265000,48000,i Sport,Sedán
ALFA-2,Nissan,Versa,2018,189999,61000,Advance,Sedán
ALFA-3,Toyota,Corolla,2020,320000,35000,LE,Sedán
"""
CARS_B = """stock_id,make,model,year,price,km,version,body
BRAVO-1,Kia,Rio,2021,250000,32000,LX,Sedán
BRAVO-2,Hyundai,Tucson,2022,489000,21500,GLS,SUV
BRAVO-3,Mazda,CX-5,2021,455000,30000,Grand Touring,SUV
BRAVO-4,Toyota,Corolla,2021,345000,20000,SE,Sedán
"""
A_IDS = {"ALFA-1", "ALFA-2", "ALFA-3"}
B_IDS = {"BRAVO-1", "BRAVO-2", "BRAVO-3", "BRAVO-4"}
KNOWLEDGE_A = [
    {"title": "Garantía", "content": "Nuestros autos tienen garantía de 6 meses.", "category": "warranty"},
    {"title": "Horario de atención", "content": "Abrimos de lunes a viernes de 9 a 18 h.", "category": "hours"},
]
KNOWLEDGE_B = [
    {
        "title": "Garantía Bravo Plus",
        "content": "Garantía extendida Bravo Plus de 24 meses con cobertura total.",
        "category": "warranty",
    },
    {
        "title": "Seguro de auto",
        "content": "Contrata tu seguro de auto con Aseguradora Zafiro desde el primer día.",
        "category": "insurance",
    },
    {
        "title": "Horario de atención",
        "content": "Abrimos todos los días, incluso domingos, de 8 a 20 h.",
        "category": "hours",
    },
]
B_MARKERS = ("Bravo", "Zafiro", "domingo", "24 meses", "BRAVO")
_STOCK_ID = re.compile(r"\(((?:ALFA|BRAVO)-\d+)\)")


async def _chat(client: Any, tenant: TenantHandle, user: str, message: str) -> dict[str, Any]:
    r = await client.post(
        f"/v1/tenants/{tenant.slug}/chat", json={"user": user, "text": message}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _search(client: Any, tenant: TenantHandle, q: str) -> list[dict[str, Any]]:
    r = await client.get(
        f"/v1/tenants/{tenant.slug}/knowledge/search", params={"q": q, "limit": 20}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    return list(r.json())


@pytest.fixture
async def pair(client: Any) -> tuple[TenantHandle, TenantHandle]:
    a = await make_tenant(client, catalog_csv=CARS_A, knowledge=KNOWLEDGE_A, name="Autos Alfa")
    b = await make_tenant(client, catalog_csv=CARS_B, knowledge=KNOWLEDGE_B, name="Autos Bravo")
    return a, b


CATALOG_QUESTIONS = [
    "¿qué autos tienen?",
    "¿tienen Kia Rio?",
    "busco una Hyundai Tucson",
    "¿tienen Mazda?",
    "¿tienen Corolla 2021?",
    "quiero una SUV",
    "autos de menos de 500 mil",
    "el más caro que tengan",
    "BRAVO-2",
    "muéstrame 10 opciones",
]


@pytest.mark.parametrize("question", CATALOG_QUESTIONS)
async def test_chat_only_returns_own_stock(client: Any, pair: tuple[TenantHandle, TenantHandle], question: str) -> None:
    a, b = pair
    user = f"iso-{uuid.uuid4().hex[:10]}"
    for tenant, own, other in ((a, A_IDS, B_IDS), (b, B_IDS, A_IDS)):
        reply = await _chat(client, tenant, user, question)
        assert set(reply["items"]) <= own, (tenant.slug, question, reply["items"])
        assert not set(_STOCK_ID.findall(reply["reply"])) & other, reply["reply"]
        follow = await _chat(client, tenant, user, "muéstrame otros")
        assert set(follow["items"]) <= own, (tenant.slug, question, follow["items"])


async def test_same_model_in_both_catalogs_shows_each_tenants_own(
    client: Any, pair: tuple[TenantHandle, TenantHandle]
) -> None:
    a, b = pair
    user = f"iso-{uuid.uuid4().hex[:10]}"
    assert (await _chat(client, a, user, "¿tienen Toyota Corolla?"))["items"] == ["ALFA-3"]
    assert (await _chat(client, b, user, "¿tienen Toyota Corolla?"))["items"] == ["BRAVO-4"]
    a_quote = await _chat(client, a, user, "¿cuánto al mes por ese a 48 meses con 20% de enganche?")
    assert a_quote["quote"] is not None and a_quote["quote"]["price"] == 320000


async def test_catalog_upload_of_one_tenant_leaves_the_other_alone(
    client: Any, pair: tuple[TenantHandle, TenantHandle]
) -> None:
    a, b = pair
    before = (await client.get(f"/v1/tenants/{b.slug}", headers=b.headers)).json()["catalog_version"]
    r = await client.post(
        f"/v1/tenants/{a.slug}/catalog",
        files={"file": ("cars.csv", b"stock_id,make,model,year,price\nALFA-9,Kia,Rio,2023,299000\n", "text/csv")},
        headers=a.headers,
    )
    assert r.status_code == 200, r.text
    after = (await client.get(f"/v1/tenants/{b.slug}", headers=b.headers)).json()["catalog_version"]
    assert after == before
    user = f"iso-{uuid.uuid4().hex[:10]}"
    assert (await _chat(client, b, user, "¿tienen Kia Rio?"))["items"] == ["BRAVO-1"]
    assert (await _chat(client, a, user, "¿tienen Kia Rio?"))["items"] == ["ALFA-9"]


KNOWLEDGE_QUESTIONS = [
    "¿qué garantía tienen?",
    "¿ofrecen seguro de auto?",
    "¿abren los domingos?",
    "garantía Bravo Plus",
    "Aseguradora Zafiro",
]


@pytest.mark.parametrize("question", KNOWLEDGE_QUESTIONS)
async def test_knowledge_never_crosses_tenants(
    client: Any, pair: tuple[TenantHandle, TenantHandle], question: str
) -> None:
    a, b = pair
    b_ids = {h["id"] for q in ("garantía", "seguro", "horario") for h in await _search(client, b, q)}
    assert len(b_ids) == 3  # B's own entries are all findable by B

    reply = await _chat(client, a, f"iso-{uuid.uuid4().hex[:10]}", question)
    assert not {s["id"] for s in reply["sources"]} & b_ids, reply
    assert not any(marker in reply["reply"] for marker in B_MARKERS), reply["reply"]

    hits = await _search(client, a, question)
    assert not {h["id"] for h in hits} & b_ids
    assert not {h["title"] for h in hits} & {e["title"] for e in KNOWLEDGE_B if e["title"] != "Horario de atención"}
    for hit in hits:
        assert not any(marker in hit["content"] for marker in B_MARKERS), hit


async def test_each_tenant_answers_from_its_own_knowledge(client: Any, pair: tuple[TenantHandle, TenantHandle]) -> None:
    a, b = pair
    user = f"iso-{uuid.uuid4().hex[:10]}"
    a_reply = await _chat(client, a, user, "¿Cuál es su horario de atención?")
    b_reply = await _chat(client, b, user, "¿Cuál es su horario de atención?")
    assert a_reply["reply"] == KNOWLEDGE_A[1]["content"]
    assert b_reply["reply"] == KNOWLEDGE_B[2]["content"]
    a_ids = {h["id"] for h in await _search(client, a, "horario")}
    b_ids = {h["id"] for h in await _search(client, b, "horario")}
    assert a_ids and b_ids and not a_ids & b_ids
    assert {s["id"] for s in a_reply["sources"]} <= a_ids
    assert {s["id"] for s in b_reply["sources"]} <= b_ids


async def test_other_tenants_conversations_are_out_of_reach(
    client: Any, pair: tuple[TenantHandle, TenantHandle]
) -> None:
    a, b = pair
    a_user, b_user = f"iso-a-{uuid.uuid4().hex[:8]}", f"iso-b-{uuid.uuid4().hex[:8]}"
    await _chat(client, a, a_user, "hola")
    b_turn = await _chat(client, b, b_user, "quiero hablar con un asesor")
    assert b_turn["handoff"] is True
    b_conversation = b_turn["conversation_id"]

    # Through B's slug: A's key is not B's.
    r = await client.get(f"/v1/tenants/{b.slug}/conversations", headers=a.headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = await client.get(f"/v1/tenants/{b.slug}/conversations/{b_conversation}/messages", headers=a.headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert "quiero hablar" not in r.text

    # Through A's slug with B's id: no such conversation in A.
    for headers in (a.headers, admin_headers()):
        r = await client.get(f"/v1/tenants/{a.slug}/conversations/{b_conversation}/messages", headers=headers)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        assert "quiero hablar" not in r.text
        r = await client.post(f"/v1/tenants/{a.slug}/conversations/{b_conversation}/release", headers=headers)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"

    listed = await client.get(f"/v1/tenants/{a.slug}/conversations", headers=a.headers)
    assert [c["customer"] for c in listed.json()] == [a_user]
    for status in ("handoff", "bot"):
        listed = await client.get(f"/v1/tenants/{a.slug}/conversations", params={"status": status}, headers=a.headers)
        assert b_conversation not in [c["id"] for c in listed.json()]

    # B's conversation is untouched: still with a human, messages intact.
    waiting = await client.get(f"/v1/tenants/{b.slug}/conversations", params={"status": "handoff"}, headers=b.headers)
    assert [c["id"] for c in waiting.json()] == [b_conversation]
    messages = await client.get(f"/v1/tenants/{b.slug}/conversations/{b_conversation}/messages", headers=b.headers)
    assert messages.json()[0]["body"] == "quiero hablar con un asesor"


async def test_same_api_user_has_one_conversation_per_tenant(
    client: Any, pair: tuple[TenantHandle, TenantHandle]
) -> None:
    a, b = pair
    user = f"iso-{uuid.uuid4().hex[:10]}"
    a_list = await _chat(client, a, user, "¿qué autos tienen?")
    b_list = await _chat(client, b, user, "¿qué autos tienen?")
    assert a_list["conversation_id"] != b_list["conversation_id"]
    assert len(a_list["items"]) >= 2 and len(b_list["items"]) >= 2
    a_second = await _chat(client, a, user, "el segundo")
    b_second = await _chat(client, b, user, "el segundo")
    assert a_second["items"] == [a_list["items"][1]]
    assert b_second["items"] == [b_list["items"][1]]
    a_messages = await client.get(
        f"/v1/tenants/{a.slug}/conversations/{a_list['conversation_id']}/messages", headers=a.headers
    )
    assert [m["body"] for m in a_messages.json() if m["direction"] == "inbound"] == ["¿qué autos tienen?", "el segundo"]
    assert not any("BRAVO" in m["body"] for m in a_messages.json())


async def _replies_to(fake: FakeTwilioServer, customer: str, count: int, within: float = 15.0) -> list[dict[str, Any]]:
    """The first ``count`` messages sent to ``customer``, waiting for them (other tests' sends are ignored)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        mine = [m for m in fake.messages if m["to"] == customer]
        if len(mine) >= count:
            return mine[:count]
        assert loop.time() < deadline, f"expected {count} replies to {customer}, got {[m['body'] for m in mine]}"
        await asyncio.sleep(0.05)


@pytest.mark.usefixtures("worker")
async def test_same_whatsapp_customer_has_separate_memory_per_tenant(
    client: Any, pair: tuple[TenantHandle, TenantHandle], fake_twilio: FakeTwilioServer
) -> None:
    a, b = pair
    customer = new_number()
    for tenant in (a, b):
        r = await post_whatsapp(client, to=tenant.number, from_=customer, body="¿qué autos tienen?")
        assert r.status_code == 200
    first = await _replies_to(fake_twilio, customer, 2)
    by_sender = {m["from_"]: m["body"] for m in first}
    assert set(by_sender) == {a.number, b.number}
    a_shown = _STOCK_ID.findall(by_sender[a.number])
    b_shown = _STOCK_ID.findall(by_sender[b.number])
    assert len(a_shown) >= 2 and set(a_shown) <= A_IDS
    assert len(b_shown) >= 2 and set(b_shown) <= B_IDS

    # B is asked last, so a shared memory would make "el segundo" in A point at B's list.
    r = await post_whatsapp(client, to=a.number, from_=customer, body="el segundo")
    assert r.status_code == 200
    second = (await _replies_to(fake_twilio, customer, 3))[2:]
    assert [m["from_"] for m in second] == [a.number]
    assert _STOCK_ID.findall(second[0]["body"]) == [a_shown[1]]

    r = await post_whatsapp(client, to=b.number, from_=customer, body="el segundo")
    assert r.status_code == 200
    third = (await _replies_to(fake_twilio, customer, 4))[3:]
    assert [m["from_"] for m in third] == [b.number]
    assert _STOCK_ID.findall(third[0]["body"]) == [b_shown[1]]

    ids = []
    for tenant in (a, b):
        listed = await client.get(f"/v1/tenants/{tenant.slug}/conversations", headers=tenant.headers)
        mine = [c for c in listed.json() if c["customer"] == customer.removeprefix("whatsapp:")]
        assert len(mine) == 1
        ids.append(mine[0]["id"])
    assert ids[0] != ids[1]

"""The HTTP API as a program uses it: auth, tenants, catalog, knowledge, conversations, chat and errors."""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, text

from app.auth.models import ApiKey
from app.catalog.models import CatalogItem
from app.core.db import session_scope
from app.knowledge.models import KnowledgeEntry
from tests.fakes.twilio_server import FakeTwilioServer
from tests.helpers import (
    TenantHandle,
    admin_headers,
    make_tenant,
    new_number,
    post_whatsapp,
)

CARS = """stock_id,make,model,year,price,km,version,transmission
A1,Mazda,3,2019,265000,48000,i Sport,Automática
A2,Nissan,Versa,2018,189999.0,61000,Advance,Manual
A3,Toyota,Corolla,2020,320000,35000,LE,Automática
"""

# What a dealer exports from a spreadsheet: "id" for the stock id, extra columns, Spanish yes/no,
# empty cells, prices with a currency sign and thousands separators or a trailing ".0".
REALISTIC_CSV = """ID,Make,Model,Year,Price,KM,Version,Transmisión,CarPlay,Quemacocos,Color,Notas internas
KX-101,Kia,Rio,2021,"$250,000",32000,LX,Manual,Sí,No,Rojo,
KX-102,Hyundai,Tucson,2022,489000.00,"21,500",GLS,Automática,Sí,Sí,,Único dueño
KX-103,Chevrolet,Aveo,2019,189999.0,,LT,Automática,No,,Blanco,
"""

KNOWLEDGE = [
    {
        "title": "Garantía",
        "content": "Todos nuestros autos tienen garantía de 6 meses o 10,000 km.",
        "category": "warranty",
    },
    {"title": "Horario de atención", "content": "Abrimos de lunes a sábado de 9 a 18 h.", "category": "hours"},
    {
        "title": "Documentos para crédito",
        "content": "INE, comprobante de domicilio y tres recibos de nómina.",
        "category": "credit",
    },
]

DOCUMENTED_PATHS = {
    "/v1/tenants",
    "/v1/tenants/{slug}",
    "/v1/tenants/{slug}/api-keys",
    "/v1/tenants/{slug}/catalog",
    "/v1/tenants/{slug}/chat",
    "/v1/tenants/{slug}/conversations",
    "/v1/tenants/{slug}/conversations/{conversation_id}/messages",
    "/v1/tenants/{slug}/conversations/{conversation_id}/release",
    "/v1/tenants/{slug}/knowledge",
    "/v1/tenants/{slug}/knowledge/{entry_id}",
    "/v1/tenants/{slug}/knowledge/import",
    "/v1/tenants/{slug}/knowledge/search",
    "/v1/tenants/{slug}/finance/quote",
    "/webhooks/twilio/whatsapp",
    "/webhooks/twilio/status",
    "/healthz",
    "/readyz",
}


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is the API's error envelope with ``status`` and ``code``; returns the error object."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return dict(body["error"])


def locs(error: dict[str, Any]) -> list[list[Any]]:
    """Locations of a validation error's details."""
    return [d["loc"] for d in error["details"]]


async def chat(client: Any, tenant: TenantHandle, user: str, message: str) -> dict[str, Any]:
    r = await client.post(
        f"/v1/tenants/{tenant.slug}/chat", json={"user": user, "text": message}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def get_tenant(client: Any, tenant: TenantHandle) -> dict[str, Any]:
    r = await client.get(f"/v1/tenants/{tenant.slug}", headers=tenant.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def user_id() -> str:
    return f"api-user-{uuid.uuid4().hex[:12]}"


# --------------------------------------------------------------------------------------------- auth


async def test_missing_bearer_is_401_with_challenge(client: Any) -> None:
    tenant = await make_tenant(client)
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": f"Basic {tenant.key}"}):
        r = await client.get(f"/v1/tenants/{tenant.slug}", headers=headers)
        assert_error(r, 401, "unauthorized")
        assert r.headers["www-authenticate"].lower().startswith("bearer")
    r = await client.get("/v1/tenants")
    assert_error(r, 401, "unauthorized")
    assert r.headers["www-authenticate"].lower().startswith("bearer")


async def test_unknown_key_is_401(client: Any) -> None:
    tenant = await make_tenant(client)
    for secret in ("wak_" + uuid.uuid4().hex, tenant.key + "x", "test-admin-key-0123456789abcdeX"):
        r = await client.get(f"/v1/tenants/{tenant.slug}", headers={"Authorization": f"Bearer {secret}"})
        assert_error(r, 401, "unauthorized")
        assert r.headers["www-authenticate"].lower().startswith("bearer")


async def test_tenant_key_cannot_use_admin_endpoints(client: Any) -> None:
    tenant = await make_tenant(client)
    slug = f"t-{uuid.uuid4().hex[:10]}"
    created = await client.post(
        "/v1/tenants", json={"slug": slug, "name": "Intruso", "whatsapp_numbers": []}, headers=tenant.headers
    )
    assert_error(created, 403, "forbidden")
    assert_error(await client.get("/v1/tenants", headers=tenant.headers), 403, "forbidden")
    key = await client.post(f"/v1/tenants/{tenant.slug}/api-keys", json={"name": "mine"}, headers=tenant.headers)
    assert_error(key, 403, "forbidden")
    # Nothing was created.
    assert_error(await client.get(f"/v1/tenants/{slug}", headers=admin_headers()), 404, "not_found")
    async with session_scope() as session:
        keys = (await session.execute(select(ApiKey).where(ApiKey.tenant_id == uuid.UUID(tenant.id)))).scalars().all()
    assert [k.name for k in keys] == ["test"]


async def test_admin_endpoints_work_with_admin_key(client: Any) -> None:
    tenant = await make_tenant(client)
    listed = await client.get("/v1/tenants", headers=admin_headers())
    assert listed.status_code == 200
    assert tenant.slug in [t["slug"] for t in listed.json()]
    second = await client.post(f"/v1/tenants/{tenant.slug}/api-keys", json={"name": "crm"}, headers=admin_headers())
    assert second.status_code == 201
    assert second.json()["name"] == "crm" and second.json()["key"] != tenant.key
    # Both keys work for the tenant.
    r = await client.get(f"/v1/tenants/{tenant.slug}", headers={"Authorization": f"Bearer {second.json()['key']}"})
    assert r.status_code == 200 and r.json()["slug"] == tenant.slug


async def test_key_of_one_tenant_is_refused_on_another(client: Any) -> None:
    a = await make_tenant(client, catalog_csv=CARS)
    b = await make_tenant(client, catalog_csv=CARS, name="Autos B")
    base = f"/v1/tenants/{b.slug}"
    conversation = (await chat(client, b, user_id(), "hola"))["conversation_id"]
    new_csv = "stock_id,make,model,year,price\nZ1,Kia,Rio,2020,100000\n"
    attempts = [
        client.get(base, headers=a.headers),
        client.patch(base, json={"name": "hijacked"}, headers=a.headers),
        client.post(f"{base}/chat", json={"user": "u", "text": "hola"}, headers=a.headers),
        client.post(f"{base}/catalog", files={"file": ("c.csv", new_csv.encode(), "text/csv")}, headers=a.headers),
        client.post(f"{base}/knowledge/import", json=KNOWLEDGE, headers=a.headers),
        client.get(f"{base}/knowledge/search", params={"q": "garantía"}, headers=a.headers),
        client.get(f"{base}/conversations", headers=a.headers),
        client.get(f"{base}/conversations/{conversation}/messages", headers=a.headers),
        client.post(f"{base}/conversations/{conversation}/release", headers=a.headers),
        client.post(f"{base}/api-keys", json={"name": "x"}, headers=a.headers),
    ]
    for response in [await attempt for attempt in attempts]:
        assert_error(response, 403, "forbidden")
    # Nothing of B changed.
    after = await get_tenant(client, b)
    assert after["name"] == "Autos B" and after["catalog_version"] == 1
    search = await client.get(f"{base}/knowledge/search", params={"q": "garantía"}, headers=b.headers)
    assert search.json() == []


async def test_unknown_slug_is_404(client: Any) -> None:
    slug = f"missing-{uuid.uuid4().hex[:8]}"
    for method, path in (
        ("GET", f"/v1/tenants/{slug}"),
        ("PATCH", f"/v1/tenants/{slug}"),
        ("GET", f"/v1/tenants/{slug}/conversations"),
        ("GET", f"/v1/tenants/{slug}/knowledge/search?q=hola"),
    ):
        body = {"name": "x"} if method == "PATCH" else None
        r = await client.request(method, path, json=body, headers=admin_headers())
        assert_error(r, 404, "not_found")
    r = await client.post(f"/v1/tenants/{slug}/chat", json={"user": "u", "text": "hola"}, headers=admin_headers())
    assert_error(r, 404, "not_found")
    r = await client.post(f"/v1/tenants/{slug}/api-keys", json={"name": "x"}, headers=admin_headers())
    assert_error(r, 404, "not_found")


async def test_unknown_conversation_is_404(client: Any) -> None:
    tenant = await make_tenant(client)
    missing = uuid.uuid4()
    r = await client.get(f"/v1/tenants/{tenant.slug}/conversations/{missing}/messages", headers=tenant.headers)
    assert_error(r, 404, "not_found")
    r = await client.post(f"/v1/tenants/{tenant.slug}/conversations/{missing}/release", headers=tenant.headers)
    assert_error(r, 404, "not_found")
    r = await client.get(f"/v1/tenants/{tenant.slug}/conversations/not-a-uuid/messages", headers=tenant.headers)
    assert_error(r, 422, "invalid_input")


async def test_api_keys_are_stored_only_as_sha256(client: Any) -> None:
    tenant = await make_tenant(client)
    extra = await client.post(f"/v1/tenants/{tenant.slug}/api-keys", json={"name": "crm"}, headers=admin_headers())
    secrets = {tenant.key, extra.json()["key"]}
    async with session_scope() as session:
        keys = (await session.execute(select(ApiKey).where(ApiKey.tenant_id == uuid.UUID(tenant.id)))).scalars().all()
        raw = (
            (
                await session.execute(
                    text("SELECT row_to_json(k)::text FROM api_keys k WHERE tenant_id = :t"),
                    {"t": uuid.UUID(tenant.id)},
                )
            )
            .scalars()
            .all()
        )
    assert len(keys) == 2 and len(raw) == 2
    assert {k.key_hash for k in keys} == {hashlib.sha256(s.encode()).hexdigest() for s in secrets}
    for secret in secrets:
        assert all(secret not in row for row in raw)
        for key in keys:
            for column in ApiKey.__table__.columns:
                assert secret not in str(getattr(key, column.key))


# ------------------------------------------------------------------------------------------ tenants


async def test_create_tenant_echoes_fields_and_finance_defaults(client: Any) -> None:
    slug = f"t-{uuid.uuid4().hex[:10]}"
    numbers = [new_number(), new_number()]
    body = {
        "slug": slug,
        "name": "Autos del Norte",
        "whatsapp_numbers": [*numbers, numbers[0]],
        "locale": "en-US",
        "timezone": "America/Monterrey",
        "flags": {"voice_notes": True},
        "persona": {"agent_name": "Lupita"},
    }
    r = await client.post("/v1/tenants", json=body, headers=admin_headers())
    assert r.status_code == 201, r.text
    created = r.json()
    uuid.UUID(created["id"])
    assert created["slug"] == slug
    assert created["name"] == "Autos del Norte"
    assert created["whatsapp_numbers"] == numbers  # the duplicate is dropped, order kept
    assert created["locale"] == "en-US"
    assert created["timezone"] == "America/Monterrey"
    assert created["flags"] == {"voice_notes": True}
    assert created["persona"] == {"agent_name": "Lupita"}
    assert created["catalog_version"] == 0
    finance = created["finance"]
    assert Decimal(str(finance["annual_rate"])) == Decimal("0.139")
    assert finance["terms_months"] == [12, 24, 36, 48, 60, 72]
    assert Decimal(str(finance["min_down_payment_ratio"])) == Decimal("0.10")
    assert created["created_at"] and created["updated_at"]

    fetched = await client.get(f"/v1/tenants/{slug}", headers=admin_headers())
    assert fetched.status_code == 200
    assert fetched.json() == created


async def test_minimal_tenant_gets_defaults(client: Any) -> None:
    slug = f"t-{uuid.uuid4().hex[:10]}"
    r = await client.post("/v1/tenants", json={"slug": slug, "name": "Mínimo"}, headers=admin_headers())
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["whatsapp_numbers"] == []
    assert (created["locale"], created["timezone"]) == ("es-MX", "America/Mexico_City")
    assert (created["flags"], created["persona"]) == ({}, {})


async def test_duplicate_slug_is_409(client: Any) -> None:
    tenant = await make_tenant(client, name="Original")
    r = await client.post(
        "/v1/tenants",
        json={"slug": tenant.slug, "name": "Copia", "whatsapp_numbers": [new_number()]},
        headers=admin_headers(),
    )
    assert_error(r, 409, "conflict")
    assert (await get_tenant(client, tenant))["name"] == "Original"


async def test_number_owned_by_another_tenant_is_409(client: Any) -> None:
    owner = await make_tenant(client)
    slug = f"t-{uuid.uuid4().hex[:10]}"
    r = await client.post(
        "/v1/tenants",
        json={"slug": slug, "name": "Otro", "whatsapp_numbers": [new_number(), owner.number]},
        headers=admin_headers(),
    )
    error = assert_error(r, 409, "conflict")
    assert error["details"]["numbers"] == [owner.number]
    assert_error(await client.get(f"/v1/tenants/{slug}", headers=admin_headers()), 404, "not_found")

    other = await make_tenant(client)
    # Numbers route customers: a tenant key may not change them at all.
    r = await client.patch(
        f"/v1/tenants/{other.slug}", json={"whatsapp_numbers": [new_number()]}, headers=other.headers
    )
    assert_error(r, 403, "forbidden")
    r = await client.patch(
        f"/v1/tenants/{other.slug}", json={"whatsapp_numbers": [other.number, owner.number]}, headers=admin_headers()
    )
    error = assert_error(r, 409, "conflict")
    assert error["details"]["numbers"] == [owner.number]
    assert (await get_tenant(client, other))["whatsapp_numbers"] == [other.number]
    assert (await get_tenant(client, owner))["whatsapp_numbers"] == [owner.number]


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"slug": "Mi_Agencia"}, ["body", "slug"]),
        ({"slug": "-agencia"}, ["body", "slug"]),
        ({"slug": "a" * 64}, ["body", "slug"]),
        ({"whatsapp_numbers": ["+5215512345678"]}, ["body", "whatsapp_numbers"]),
        ({"whatsapp_numbers": ["whatsapp:5215512345678"]}, ["body", "whatsapp_numbers"]),
        ({"timezone": "Mars/Olympus_Mons"}, ["body", "timezone"]),
        ({"colour": "rojo"}, ["body", "colour"]),
        ({"finance": {"annual_rate": 1.5}}, ["body", "finance", "annual_rate"]),
        ({"name": ""}, ["body", "name"]),
    ],
)
async def test_invalid_tenant_is_422_with_details(client: Any, change: dict[str, Any], loc: list[Any]) -> None:
    slug = f"t-{uuid.uuid4().hex[:10]}"
    body = {"slug": slug, "name": "Agencia", "whatsapp_numbers": [new_number()], **change}
    r = await client.post("/v1/tenants", json=body, headers=admin_headers())
    error = assert_error(r, 422, "invalid_input")
    assert loc in locs(error), error
    assert all(d["msg"] for d in error["details"])
    r = await client.get(f"/v1/tenants/{body['slug']}", headers=admin_headers())
    assert_error(r, 404, "not_found")


async def test_patch_merges_flags_replaces_finance_and_numbers(client: Any) -> None:
    tenant = await make_tenant(
        client,
        flags={"a": True, "b": False},
        persona={"agent_name": "Sofía"},
        finance={"annual_rate": 0.12, "terms_months": [12, 24], "min_down_payment_ratio": 0.2},
    )
    n2, n3 = new_number(), new_number()
    r = await client.patch(
        f"/v1/tenants/{tenant.slug}",
        json={
            "name": "Nuevo nombre",
            "flags": {"b": True, "c": True},
            "finance": {"annual_rate": 0.15, "terms_months": [36, 12, 36]},
            "whatsapp_numbers": [n2, n3],
        },
        headers=admin_headers(),
    )
    assert r.status_code == 200, r.text
    patched = r.json()
    assert patched["name"] == "Nuevo nombre"
    assert patched["flags"] == {"a": True, "b": True, "c": True}
    assert patched["persona"] == {"agent_name": "Sofía"}  # untouched
    assert Decimal(str(patched["finance"]["annual_rate"])) == Decimal("0.15")
    assert patched["finance"]["terms_months"] == [12, 36]
    # Replaced, not merged: the ratio not given is back to its default.
    assert Decimal(str(patched["finance"]["min_down_payment_ratio"])) == Decimal("0.10")
    assert patched["whatsapp_numbers"] == [n2, n3]
    assert await get_tenant(client, tenant) == patched

    r = await client.patch(f"/v1/tenants/{tenant.slug}", json={"flags": {"a": False}}, headers=tenant.headers)
    assert r.status_code == 200
    assert (await get_tenant(client, tenant))["flags"] == {"a": False, "b": True, "c": True}

    # The number given up is free for another tenant.
    newcomer = await make_tenant(client, number=tenant.number)
    assert (await get_tenant(client, newcomer))["whatsapp_numbers"] == [tenant.number]


async def test_patch_replaces_persona(client: Any) -> None:
    """README: "`flags` merge key by key, other fields are replaced" — persona included."""
    tenant = await make_tenant(client, persona={"agent_name": "Sofía", "tone": "formal"})
    r = await client.patch(
        f"/v1/tenants/{tenant.slug}", json={"persona": {"agent_name": "Leo"}}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["persona"] == {"agent_name": "Leo"}
    assert (await get_tenant(client, tenant))["persona"] == {"agent_name": "Leo"}


async def test_concurrent_creation_of_one_slug_gives_one_tenant(client: Any) -> None:
    slug = f"t-{uuid.uuid4().hex[:10]}"
    bodies = [{"slug": slug, "name": f"Agencia {i}", "whatsapp_numbers": [new_number()]} for i in range(3)]
    responses = await asyncio.gather(
        *(client.post("/v1/tenants", json=b, headers=admin_headers()) for b in bodies), return_exceptions=True
    )
    assert not [r for r in responses if isinstance(r, BaseException)], responses
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409], [r.text for r in responses]
    for r in responses:
        if r.status_code == 409:
            assert_error(r, 409, "conflict")


async def test_concurrent_claims_of_one_number_give_one_owner(client: Any) -> None:
    tenants = [await make_tenant(client) for _ in range(5)]
    wanted = new_number()
    responses = await asyncio.gather(
        *(
            client.patch(
                f"/v1/tenants/{t.slug}", json={"whatsapp_numbers": [t.number, wanted]}, headers=admin_headers()
            )
            for t in tenants
        ),
        return_exceptions=True,
    )
    crashed = [r for r in responses if isinstance(r, BaseException)]
    assert not crashed, f"losing PATCHes crashed instead of answering 409: {crashed!r}"
    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409, 409], [r.text for r in responses]
    for r in responses:
        if r.status_code != 200:
            assert_error(r, 409, "conflict")
    owners = [t for t in tenants if wanted in (await get_tenant(client, t))["whatsapp_numbers"]]
    assert len(owners) == 1


async def test_invalid_patch_changes_nothing(client: Any) -> None:
    tenant = await make_tenant(client, name="Estable")
    before = await get_tenant(client, tenant)
    for body, loc in (
        ({"name": "Otro", "timezone": "Nowhere/City"}, ["body", "timezone"]),
        ({"name": "Otro", "whatsapp_numbers": ["5512345678"]}, ["body", "whatsapp_numbers"]),
        ({"name": "Otro", "slug": "nuevo-slug"}, ["body", "slug"]),
        ({"flags": {"a": "quizá"}}, ["body", "flags", "a"]),
    ):
        r = await client.patch(f"/v1/tenants/{tenant.slug}", json=body, headers=tenant.headers)
        error = assert_error(r, 422, "invalid_input")
        assert loc in locs(error), error
    assert await get_tenant(client, tenant) == before


async def test_finance_change_applies_to_next_quote(client: Any) -> None:
    tenant = await make_tenant(client)
    user = user_id()
    question = "¿Cuánto pagaría al mes por un auto de 300 mil a 48 meses con 20% de enganche?"
    first = await chat(client, tenant, user, question)
    assert first["quote"] is not None and first["quote"]["annual_rate"] == pytest.approx(0.139)
    r = await client.patch(f"/v1/tenants/{tenant.slug}", json={"finance": {"annual_rate": 0.2}}, headers=tenant.headers)
    assert r.status_code == 200
    second = await chat(client, tenant, user_id(), question)
    assert second["quote"]["annual_rate"] == pytest.approx(0.2)
    assert second["quote"]["monthly_payment"] > first["quote"]["monthly_payment"]


# ------------------------------------------------------------------------------------------ catalog


async def upload(client: Any, tenant: TenantHandle, csv_text: str | bytes, name: str = "cars.csv") -> Any:
    data = csv_text.encode() if isinstance(csv_text, str) else csv_text
    return await client.post(
        f"/v1/tenants/{tenant.slug}/catalog", files={"file": (name, data, "text/csv")}, headers=tenant.headers
    )


async def test_realistic_catalog_upload_is_searchable(client: Any) -> None:
    tenant = await make_tenant(client)
    r = await upload(client, tenant, REALISTIC_CSV)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["rows"] == 3
    assert result["columns"] == ["carplay", "color", "notas_internas", "quemacocos", "transmision"]
    assert result["catalog_version"] == 1
    assert (await get_tenant(client, tenant))["catalog_version"] == 1

    async with session_scope() as session:
        rows = {
            r.stock_id: r
            for r in (
                await session.execute(select(CatalogItem).where(CatalogItem.tenant_id == uuid.UUID(tenant.id)))
            ).scalars()
        }
    assert set(rows) == {"KX-101", "KX-102", "KX-103"}
    assert rows["KX-101"].price == Decimal("250000.00")
    assert rows["KX-102"].price == Decimal("489000.00")
    assert rows["KX-103"].price == Decimal("189999.00")
    assert (rows["KX-102"].km, rows["KX-103"].km) == (21500, None)
    assert rows["KX-101"].attributes["carplay"] is True
    assert rows["KX-101"].attributes["quemacocos"] is False
    assert rows["KX-103"].attributes["quemacocos"] is None
    assert rows["KX-102"].attributes["notas_internas"] == "Único dueño"

    user = user_id()
    found = await chat(client, tenant, user, "¿tienen Kia Rio?")
    assert found["agent"] == "catalog" and found["items"] == ["KX-101"]
    assert "$250,000" in found["reply"]
    detail = await chat(client, tenant, user, "el primero")
    assert detail["items"] == ["KX-101"]
    assert "Carplay: Sí" in detail["reply"] and "Quemacocos: No" in detail["reply"]
    assert "Notas internas" not in detail["reply"]  # empty cell: nothing to say
    cheap = await chat(client, tenant, user_id(), "autos de menos de 200 mil")
    assert cheap["items"] == ["KX-103"]
    tucson = await chat(client, tenant, user_id(), "busco una Hyundai Tucson")
    assert tucson["items"] == ["KX-102"]


async def test_catalog_upload_replaces_previous_catalog(client: Any) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS)
    assert "A1" in (await chat(client, tenant, user_id(), "¿tienen Mazda?"))["items"]
    r = await upload(client, tenant, REALISTIC_CSV)
    assert r.status_code == 200 and r.json()["catalog_version"] == 2
    gone = await chat(client, tenant, user_id(), "¿tienen Mazda 3?")
    assert not {"A1", "A2", "A3"} & set(gone["items"])
    assert (await chat(client, tenant, user_id(), "¿tienen Kia Rio?"))["items"] == ["KX-101"]


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("cp1252", ","), ("utf-8-sig", ";"), ("utf-8", "\t")],
    ids=["excel-cp1252", "bom-semicolon", "tab"],
)
async def test_catalog_in_spreadsheet_encodings_and_delimiters(client: Any, encoding: str, delimiter: str) -> None:
    tenant = await make_tenant(client)
    csv_text = (
        "id;Marca;make;model;year;price;Transmisión\n"
        "E1;x;Volkswagen;Jetta;2020;289000;Automática\n"
        "E2;x;Renault;Duster;2021;279000;Estándar\n"
    ).replace(";", delimiter)
    r = await upload(client, tenant, csv_text.encode(encoding))
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == 2 and r.json()["columns"] == ["marca", "transmision"]
    user = user_id()
    assert (await chat(client, tenant, user, "¿tienen Jetta?"))["items"] == ["E1"]
    detail = await chat(client, tenant, user, "el primero")
    assert "Transmisión: Automática" in detail["reply"]  # the label with its accent back


_HEADER = "stock_id,make,model,year,price,km\n"
_GOOD = "N1,Kia,Rio,2021,250000,30000\nN2,Hyundai,Tucson,2022,489000,20000\n"


@pytest.mark.parametrize(
    ("csv_text", "row", "column"),
    [
        pytest.param(_HEADER + _GOOD + "N3,Kia,Forte,2020,barato,10000\n", 4, "price", id="price-not-numeric"),
        pytest.param(
            _HEADER + "N1,Kia,Rio,2021,250000,30000\nN2,,Tucson,2022,489000,20000\n", 3, "make", id="missing-make"
        ),
        pytest.param(_HEADER + _GOOD + "N1,Kia,Forte,2020,300000,10000\n", 4, "stock_id", id="duplicate-stock-id"),
        pytest.param("stock_id,make,model,price,km\nN1,Kia,Rio,250000,30000\n", 1, "year", id="missing-year-column"),
        pytest.param(_HEADER + _GOOD + "N3,Kia,Forte,dos mil,300000,10000\n", 4, "year", id="year-not-numeric"),
    ],
)
async def test_bad_catalog_row_is_422_and_keeps_previous_catalog(
    client: Any, csv_text: str, row: int, column: str
) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS)
    before = await get_tenant(client, tenant)
    r = await upload(client, tenant, csv_text)
    error = assert_error(r, 422, "invalid_input")
    assert error["details"]["row"] == row, error
    assert error["details"]["column"] == column, error
    assert column in error["message"]
    if row > 1:
        assert f"Row {row}" in error["message"]
    after = await get_tenant(client, tenant)
    assert after["catalog_version"] == before["catalog_version"] == 1
    old = await chat(client, tenant, user_id(), "¿tienen Mazda 3?")
    assert old["items"][:1] == ["A1"]
    new = await chat(client, tenant, user_id(), "¿tienen Kia Rio?")
    assert not {"N1", "N2", "N3"} & set(new["items"])


async def test_catalog_upload_without_file_or_rows_is_422(client: Any) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS)
    r = await client.post(f"/v1/tenants/{tenant.slug}/catalog", headers=tenant.headers)
    error = assert_error(r, 422, "invalid_input")
    assert ["body", "file"] in locs(error)
    assert_error(await upload(client, tenant, ""), 422, "invalid_input")
    assert_error(await upload(client, tenant, _HEADER), 422, "invalid_input")
    assert (await get_tenant(client, tenant))["catalog_version"] == 1


# ---------------------------------------------------------------------------------------- knowledge


async def test_knowledge_import_counts_created_unchanged_updated(client: Any) -> None:
    tenant = await make_tenant(client)
    path = f"/v1/tenants/{tenant.slug}/knowledge/import"
    r = await client.post(path, json=KNOWLEDGE, headers=tenant.headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"created": 3, "updated": 0, "unchanged": 0}

    again = await client.post(path, json=KNOWLEDGE, headers=tenant.headers)
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 3}

    changed = [dict(e) for e in KNOWLEDGE]
    changed[0]["content"] = "Todos nuestros autos tienen garantía de 12 meses sin límite de kilometraje."
    r = await client.post(path, json=changed, headers=tenant.headers)
    assert r.json() == {"created": 0, "updated": 1, "unchanged": 2}

    hits = await client.get(
        f"/v1/tenants/{tenant.slug}/knowledge/search", params={"q": "garantía"}, headers=tenant.headers
    )
    warranty = [h for h in hits.json() if h["title"] == "Garantía"]
    assert len(warranty) == 1  # updated in place, not duplicated
    assert "12 meses" in warranty[0]["content"]
    reply = await chat(client, tenant, user_id(), "¿Qué garantía tienen?")
    assert "12 meses" in reply["reply"]


async def test_markdown_import_is_split_by_headings(client: Any) -> None:
    tenant = await make_tenant(client)
    document = (
        "# Sucursales\n\n"
        "## Centro\nAv. Juárez 100, Centro, CDMX. Estacionamiento gratuito.\n\n"
        "## Norte\nAv. Universidad 2500, Monterrey, NL.\n\n"
        "# Toma de auto a cuenta\nRecibimos tu auto como parte del pago previa revisión mecánica.\n"
    )
    r = await client.post(
        f"/v1/tenants/{tenant.slug}/knowledge/import",
        content=document.encode(),
        headers={**tenant.headers, "Content-Type": "text/markdown; charset=utf-8"},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"created": 3, "updated": 0, "unchanged": 0}

    async def titles(q: str) -> list[str]:
        hits = await client.get(
            f"/v1/tenants/{tenant.slug}/knowledge/search", params={"q": q, "limit": 20}, headers=tenant.headers
        )
        assert hits.status_code == 200
        return [h["title"] for h in hits.json()]

    assert (await titles("Monterrey"))[0] == "Sucursales / Norte"
    assert (await titles("Juárez estacionamiento"))[0] == "Sucursales / Centro"
    assert (await titles("toma de auto a cuenta"))[0] == "Toma de auto a cuenta"
    assert "Sucursales" not in await titles("sucursales")  # the bare parent heading has no text: no entry


@pytest.mark.parametrize(
    ("document", "titles"),
    [
        pytest.param(
            "## Garantía\nSeis meses en motor y transmisión.\n\n"
            "## Horario\nLunes a sábado de 9 a 18 h.\n\n"
            "## Apartado\nCon 5,000 pesos apartas tu auto por una semana.\n",
            ["Garantía", "Horario", "Apartado"],
            id="only-level-2-headings",
        ),
        pytest.param(
            "# Sucursales\n"
            "### Centro\nAv. Juárez 100, CDMX.\n\n"
            "### Norte\nAv. Universidad 2500, Monterrey.\n\n"
            "# Garantía\nSeis meses.\n",
            ["Sucursales / Centro", "Sucursales / Norte", "Garantía"],
            id="skipped-heading-level",
        ),
    ],
)
async def test_markdown_sibling_headings_are_not_nested(client: Any, document: str, titles: list[str]) -> None:
    """Headings of the same level are siblings, whatever levels the document skips."""
    tenant = await make_tenant(client)
    r = await client.post(
        f"/v1/tenants/{tenant.slug}/knowledge/import",
        content=document.encode(),
        headers={**tenant.headers, "Content-Type": "text/markdown"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["created"] == len(titles)
    async with session_scope() as session:
        stored = (
            (
                await session.execute(
                    select(KnowledgeEntry.title).where(KnowledgeEntry.tenant_id == uuid.UUID(tenant.id))
                )
            )
            .scalars()
            .all()
        )
    assert sorted(stored) == sorted(titles)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        pytest.param(b'[{"title": "x", "content": ', "application/json", id="truncated-json"),
        pytest.param(b"not json at all", "application/json", id="not-json"),
        pytest.param(b'{"title": "Garantia", "content": "6 meses"}', "application/json", id="object-not-list"),
        pytest.param(b'[{"title": "Garantia"}]', "application/json", id="missing-content"),
        pytest.param(b'[{"title": "", "content": "x"}]', "application/json", id="empty-title"),
        pytest.param(b'[{"title": "x", "content": "y", "type": "rumour"}]', "application/json", id="bad-type"),
        pytest.param(b"[]", "application/json", id="empty-list"),
        pytest.param(b"  \n\n  ", "text/markdown", id="markdown-empty"),
    ],
)
async def test_invalid_knowledge_import_is_422(client: Any, content: bytes, content_type: str) -> None:
    tenant = await make_tenant(client, knowledge=KNOWLEDGE)
    r = await client.post(
        f"/v1/tenants/{tenant.slug}/knowledge/import",
        content=content,
        headers={**tenant.headers, "Content-Type": content_type},
    )
    assert_error(r, 422, "invalid_input")
    again = await client.post(f"/v1/tenants/{tenant.slug}/knowledge/import", json=KNOWLEDGE, headers=tenant.headers)
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 3}  # nothing was added or changed


async def test_invalid_knowledge_entry_details_name_the_entry(client: Any) -> None:
    tenant = await make_tenant(client)
    body = [{"title": "Bien", "content": "ok"}, {"title": "Sin contenido"}]
    r = await client.post(f"/v1/tenants/{tenant.slug}/knowledge/import", json=body, headers=tenant.headers)
    error = assert_error(r, 422, "invalid_input")
    assert [1, "content"] in locs(error)


async def test_knowledge_search_returns_scored_entries_best_first(client: Any) -> None:
    tenant = await make_tenant(client, knowledge=KNOWLEDGE)
    r = await client.get(
        f"/v1/tenants/{tenant.slug}/knowledge/search",
        params={"q": "¿qué documentos piden para el crédito?"},
        headers=tenant.headers,
    )
    assert r.status_code == 200, r.text
    hits = r.json()
    assert hits, "expected at least one hit"
    assert hits[0]["title"] == "Documentos para crédito"
    assert set(hits[0]) >= {"id", "title", "content", "category", "language", "score", "lexical_score", "chunk_id"}
    assert hits[0]["lexical_score"] > 0 and hits[0]["similarity"] is None  # no embeddings provider in tests
    assert hits[0]["category"] == "credit" and hits[0]["language"] == "es"
    uuid.UUID(hits[0]["id"])
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)

    limited = await client.get(
        f"/v1/tenants/{tenant.slug}/knowledge/search",
        params={"q": "garantía", "limit": 1},
        headers=tenant.headers,
    )
    assert len(limited.json()) == 1
    nothing = await client.get(
        f"/v1/tenants/{tenant.slug}/knowledge/search", params={"q": "helicóptero"}, headers=tenant.headers
    )
    assert nothing.status_code == 200 and nothing.json() == []
    missing_q = await client.get(f"/v1/tenants/{tenant.slug}/knowledge/search", headers=tenant.headers)
    assert ["query", "q"] in locs(assert_error(missing_q, 422, "invalid_input"))


# ------------------------------------------------------------------------------------ conversations


async def test_conversation_lists_and_messages_in_order(client: Any) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS, knowledge=KNOWLEDGE)
    user = user_id()
    first = await chat(client, tenant, user, "¿tienen Mazda?")
    second = await chat(client, tenant, user, "¿cuál es su horario?")
    assert first["conversation_id"] == second["conversation_id"]

    listed = await client.get(f"/v1/tenants/{tenant.slug}/conversations", headers=tenant.headers)
    assert listed.status_code == 200
    mine = [c for c in listed.json() if c["customer"] == user]
    assert len(mine) == 1
    assert mine[0]["id"] == first["conversation_id"] and mine[0]["status"] == "bot"

    r = await client.get(
        f"/v1/tenants/{tenant.slug}/conversations/{first['conversation_id']}/messages", headers=tenant.headers
    )
    assert r.status_code == 200
    messages = r.json()
    assert [(m["direction"], m["body"]) for m in messages] == [
        ("inbound", "¿tienen Mazda?"),
        ("outbound", first["reply"]),
        ("inbound", "¿cuál es su horario?"),
        ("outbound", second["reply"]),
    ]
    assert [m["id"] for m in messages] == sorted(m["id"] for m in messages)
    assert {m["channel"] for m in messages} == {"api"}
    assert messages[0]["turn_id"] == messages[1]["turn_id"] != messages[2]["turn_id"] == messages[3]["turn_id"]

    older = await client.get(
        f"/v1/tenants/{tenant.slug}/conversations/{first['conversation_id']}/messages",
        params={"before_id": messages[2]["id"]},
        headers=tenant.headers,
    )
    assert [m["id"] for m in older.json()] == [messages[0]["id"], messages[1]["id"]]


async def test_release_gives_handed_off_conversation_back_to_bot(client: Any) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS)
    user = user_id()
    handoff = await chat(client, tenant, user, "quiero hablar con un asesor")
    assert handoff["handoff"] is True and handoff["agent"] == "handoff"
    silent = await chat(client, tenant, user, "¿tienen Mazda?")
    assert silent["reply"] == "" and silent["parts"] == [] and silent["handoff"] is True

    waiting = await client.get(
        f"/v1/tenants/{tenant.slug}/conversations", params={"status": "handoff"}, headers=tenant.headers
    )
    assert [c["id"] for c in waiting.json()] == [handoff["conversation_id"]]
    assert waiting.json()[0]["handoff_at"] is not None

    r = await client.post(
        f"/v1/tenants/{tenant.slug}/conversations/{handoff['conversation_id']}/release", headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    released = r.json()
    assert released["status"] == "bot" and released["released_at"] is not None
    assert released["handoff_reason"] is None
    after = await chat(client, tenant, user, "¿tienen Mazda?")
    assert after["agent"] == "catalog" and after["items"] == ["A1"]
    waiting = await client.get(
        f"/v1/tenants/{tenant.slug}/conversations", params={"status": "handoff"}, headers=tenant.headers
    )
    assert waiting.json() == []


# --------------------------------------------------------------------------------------------- chat

CHAT_FIELDS = {
    "conversation_id",
    "reply",
    "parts",
    "intent",
    "agent",
    "handoff",
    "tier",
    "items",
    "quote",
    "sources",
    "latency_ms",
    "model",
    "usage",
    "intents",
    "confidence",
    "complexity",
    "routing_reason",
    "handoff_reason",
}
QUOTE_FIELDS = {
    "price",
    "down_payment",
    "amount_financed",
    "annual_rate",
    "term_months",
    "monthly_payment",
    "total_paid",
    "total_interest",
}


async def test_chat_response_has_every_documented_field(client: Any) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS, knowledge=KNOWLEDGE)
    reply = await chat(client, tenant, user_id(), "¿tienen Toyota Corolla?")
    assert set(reply) == CHAT_FIELDS
    uuid.UUID(reply["conversation_id"])
    assert reply["tier"] == "offline"
    assert reply["agent"] == "catalog" and reply["intent"] == "catalog"
    assert reply["handoff"] is False
    assert reply["items"] == ["A3"]
    assert reply["parts"] == [reply["reply"]] and "Corolla" in reply["reply"]
    assert reply["quote"] is None and reply["sources"] == []
    assert isinstance(reply["latency_ms"], int) and reply["latency_ms"] >= 0
    # No AI agent switched on: the offline tier, no model, no LLM usage, and the routing reason says why.
    assert reply["model"] is None and reply["routing_reason"] == "ai_agent_off"
    assert reply["usage"] == {"llm_calls": 0, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0}
    assert reply["intents"][0]["name"] == "catalog" and 0 < reply["intents"][0]["confidence"] <= 1


async def test_finance_turn_returns_full_quote(client: Any) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS)
    reply = await chat(
        client, tenant, user_id(), "¿Cuánto pagaría al mes por un auto de 300 mil a 48 meses con 20% de enganche?"
    )
    assert reply["agent"] == "finance" and reply["tier"] == "offline"
    quote = reply["quote"]
    assert quote is not None and set(quote) == QUOTE_FIELDS
    assert quote["price"] == 300000 and quote["down_payment"] == 60000
    assert quote["amount_financed"] == 240000
    assert quote["term_months"] == 48 and quote["annual_rate"] == pytest.approx(0.139)
    rate = 0.139 / 12
    expected = 240000 * rate / (1 - (1 + rate) ** -48)
    assert quote["monthly_payment"] == pytest.approx(expected, abs=0.01)
    assert quote["total_paid"] == pytest.approx(60000 + quote["monthly_payment"] * 48, abs=0.01)
    assert quote["total_interest"] == pytest.approx(quote["monthly_payment"] * 48 - 240000, abs=0.01)
    assert f"{quote['monthly_payment']:,.2f}" in reply["reply"]


async def test_finance_for_a_shown_car_names_it(client: Any) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS)
    user = user_id()
    listed = await chat(client, tenant, user, "¿qué autos tienen?")
    assert len(listed["items"]) >= 2
    reply = await chat(client, tenant, user, "¿cuánto pagaría al mes por el segundo a 36 meses con 20% de enganche?")
    assert reply["agent"] == "finance"
    assert reply["items"] == [listed["items"][1]]
    prices = {"A1": 265000, "A2": 189999, "A3": 320000}
    assert reply["quote"]["price"] == prices[listed["items"][1]]
    assert reply["quote"]["term_months"] == 36


async def test_info_turn_returns_sources(client: Any) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS, knowledge=KNOWLEDGE)
    reply = await chat(client, tenant, user_id(), "¿Cuál es su horario de atención?")
    assert reply["agent"] == "info"
    assert reply["reply"] == "Abrimos de lunes a sábado de 9 a 18 h."
    assert len(reply["sources"]) == 1
    source = reply["sources"][0]
    assert set(source) == {"id", "title"} and source["title"] == "Horario de atención"
    hits = await client.get(
        f"/v1/tenants/{tenant.slug}/knowledge/search", params={"q": "horario"}, headers=tenant.headers
    )
    assert source["id"] in [h["id"] for h in hits.json()]


async def test_unknown_question_offers_a_human_without_sources(client: Any) -> None:
    tenant = await make_tenant(client, knowledge=KNOWLEDGE)
    user = user_id()
    reply = await chat(client, tenant, user, "¿Aceptan mascotas dentro de la sucursal?")
    assert reply["agent"] == "info" and reply["sources"] == [] and reply["handoff"] is False
    accepted = await chat(client, tenant, user, "sí")
    assert accepted["handoff"] is True


async def test_api_and_whatsapp_share_the_conversation(
    client: Any, worker: None, fake_twilio: FakeTwilioServer
) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS)
    customer = new_number()
    shown = await chat(client, tenant, customer, "¿qué autos tienen?")
    assert len(shown["items"]) >= 2
    second = shown["items"][1]
    others = set(shown["items"]) - {second}

    r = await post_whatsapp(client, to=tenant.number, from_=customer, body="el segundo")
    assert r.status_code == 200
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not (mine := [m for m in fake_twilio.messages if m["to"] == customer]):
        assert loop.time() < deadline, "no WhatsApp reply within 10 s"
        await asyncio.sleep(0.05)
    assert len(mine) == 1
    body = mine[0]["body"]
    assert f"({second})" in body
    assert not any(f"({other})" in body for other in others)

    listed = await client.get(f"/v1/tenants/{tenant.slug}/conversations", headers=tenant.headers)
    conversations = [c for c in listed.json() if c["customer"] == customer.removeprefix("whatsapp:")]
    assert [c["id"] for c in conversations] == [shown["conversation_id"]]
    messages = await _wait_for_messages(client, tenant, shown["conversation_id"], 4)
    assert [(m["direction"], m["channel"]) for m in messages] == [
        ("inbound", "api"),
        ("outbound", "api"),
        ("inbound", "whatsapp"),
        ("outbound", "whatsapp"),
    ]


async def _wait_for_messages(
    client: Any, tenant: TenantHandle, conversation_id: str, count: int, within: float = 5.0
) -> list[dict[str, Any]]:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        r = await client.get(
            f"/v1/tenants/{tenant.slug}/conversations/{conversation_id}/messages", headers=tenant.headers
        )
        messages = list(r.json())
        if len(messages) >= count or asyncio.get_running_loop().time() > deadline:
            return messages
        await asyncio.sleep(0.1)


# ------------------------------------------------------------------------------------------- errors


async def test_body_over_limit_is_413(client: Any) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS)
    row = "Z{:07d},Kia,Rio,2021,250000,30000,LX,Manual\n"
    big = CARS + "".join(row.format(i) for i in range(140_000))
    assert 5_500_000 < len(big) < 7_000_000
    r = await upload(client, tenant, big)
    error = assert_error(r, 413, "payload_too_large")
    assert error["details"] == {"max_bytes": 5_000_000}
    assert (await get_tenant(client, tenant))["catalog_version"] == 1


async def _chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _streamed_body(endpoint: str) -> tuple[str, bytes, str]:
    """(path suffix, body over 5 MB, content type) for a chunked upload to ``endpoint``."""
    if endpoint == "catalog":
        row = "Z{:07d},Kia,Rio,2021,250000,30000,LX,Manual\n"
        big = CARS + "".join(row.format(i) for i in range(140_000))
        boundary = uuid.uuid4().hex
        multipart = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="cars.csv"\r\n'
            f"Content-Type: text/csv\r\n\r\n{big}\r\n--{boundary}--\r\n"
        ).encode()
        return "/catalog", multipart, f"multipart/form-data; boundary={boundary}"
    if endpoint == "knowledge":
        return "/knowledge/import", ("# Garantía\n" + "Texto de relleno. " * 400_000).encode(), "text/markdown"
    return "/chat", ('{"user": "u", "text": "' + "a" * 6_000_000 + '"}').encode(), "application/json"


@pytest.mark.parametrize("endpoint", ["catalog", "knowledge", "chat"])
async def test_streamed_body_over_limit_is_413(client: Any, endpoint: str) -> None:
    """Without a Content-Length (a chunked upload) the limit still holds and still answers 413."""
    tenant = await make_tenant(client, catalog_csv=CARS)
    suffix, body, content_type = _streamed_body(endpoint)
    assert len(body) > 5_000_000
    r = await client.post(
        f"/v1/tenants/{tenant.slug}{suffix}",
        content=_chunks(body),
        headers={**tenant.headers, "Content-Type": content_type},
    )
    assert "content-length" not in {k.lower() for k in r.request.headers}
    error = assert_error(r, 413, "payload_too_large")
    assert error["details"] == {"max_bytes": 5_000_000}
    assert (await get_tenant(client, tenant))["catalog_version"] == 1
    listed = await client.get(f"/v1/tenants/{tenant.slug}/conversations", headers=tenant.headers)
    assert listed.json() == []


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"user": "u1", "text": ""}, ["body", "text"]),
        ({"text": "hola"}, ["body", "user"]),
        ({"user": "", "text": "hola"}, ["body", "user"]),
        ({"user": "u1"}, ["body", "text"]),
        ({"user": "u1", "text": "a" * 4097}, ["body", "text"]),
        ({"user": "u1", "text": "hola", "channel": "sms"}, ["body", "channel"]),
    ],
)
async def test_invalid_chat_body_is_422(client: Any, body: dict[str, Any], loc: list[Any]) -> None:
    tenant = await make_tenant(client)
    r = await client.post(f"/v1/tenants/{tenant.slug}/chat", json=body, headers=tenant.headers)
    error = assert_error(r, 422, "invalid_input")
    assert loc in locs(error), error
    listed = await client.get(f"/v1/tenants/{tenant.slug}/conversations", headers=tenant.headers)
    assert listed.json() == []  # nothing stored


async def test_chat_body_that_is_not_json_is_422(client: Any) -> None:
    tenant = await make_tenant(client)
    r = await client.post(
        f"/v1/tenants/{tenant.slug}/chat",
        content=b"{user: u",
        headers={**tenant.headers, "Content-Type": "application/json"},
    )
    assert_error(r, 422, "invalid_input")


async def test_health_and_readiness(client: Any) -> None:
    from alembic.script import ScriptDirectory

    from app.core.migrate import alembic_config

    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status_code == 200
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert r.json() == {"status": "ready", "schema": head}


async def test_openapi_and_docs(client: Any) -> None:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    assert set(spec["paths"]) >= DOCUMENTED_PATHS, DOCUMENTED_PATHS - set(spec["paths"])
    chat_schema = spec["components"]["schemas"]["ChatResponse"]["properties"]
    assert set(chat_schema) >= CHAT_FIELDS
    assert "bearer" in str(spec["components"].get("securitySchemes", {})).lower()
    docs = await client.get("/docs")
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in docs.text and re.search(r"swagger", docs.text, re.IGNORECASE)


async def test_unknown_route_and_method_use_the_envelope(client: Any) -> None:
    assert_error(await client.get("/v1/nope"), 404, "not_found")
    assert_error(await client.delete("/healthz"), 405, "method_not_allowed")


async def test_more_concurrent_chats_than_pool_connections_all_answer(client: Any) -> None:
    # 25 turns at once on one tenant key, with a pool of 10 + 10 connections: a request must not
    # hold a connection (or its key's row lock) while its turn needs another one.
    tenant = await make_tenant(client, catalog_csv="stock_id,make,model,year,price\nP1,Kia,Rio,2020,210000\n")
    responses = await asyncio.wait_for(
        asyncio.gather(
            *(
                client.post(
                    f"/v1/tenants/{tenant.slug}/chat",
                    json={"user": f"+52155{i:08d}", "text": "¿tienen Kia?"},
                    headers=tenant.headers,
                )
                for i in range(25)
            )
        ),
        timeout=60,  # the old failure mode was a 30 s pool timeout per request
    )
    assert [r.status_code for r in responses] == [200] * 25
    assert all(r.json()["items"] == ["P1"] for r in responses)

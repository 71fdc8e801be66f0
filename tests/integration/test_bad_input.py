"""Inputs that once gave 500 now answer a 4xx JSON error naming the field, write nothing, keep the connection."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text

from app.core.db import session_scope
from tests.helpers import admin_headers, make_tenant, post_whatsapp


def assert_refused(r: Any, field: str, *, status: int = 422) -> dict[str, Any]:
    """The answer is ``status`` with the error envelope, and the field appears in its details or message."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    error = r.json()["error"]
    assert set(error) == {"code", "message", "details"} and error["code"] and error["message"]
    assert field in json.dumps(error), error
    assert r.headers.get("connection", "keep-alive") != "close"
    return dict(error)


async def count(sql: str, **params: Any) -> int:
    """A count straight from the database."""
    async with session_scope() as session:
        return int((await session.execute(text(sql), params)).scalar_one())


async def test_nul_in_a_json_string_is_refused_naming_the_field(client: Any) -> None:
    tenant = await make_tenant(client)
    base = f"/v1/tenants/{tenant.slug}/knowledge"
    error = assert_refused(
        await client.post(base, json={"title": "a\x00b", "content": "c"}, headers=tenant.headers), "title"
    )
    assert error["details"][0]["loc"] == ["body", "title"]
    nested = {"title": "t", "content": "c", "keywords": ["ok", "x\x00"]}
    assert_refused(await client.post(base, json=nested, headers=tenant.headers), "keywords")
    persona = {"slug": f"t-{uuid.uuid4().hex[:10]}", "name": "N", "persona": {"tone": "\x00"}}
    assert_refused(await client.post("/v1/tenants", json=persona, headers=admin_headers()), "persona")
    assert await count("SELECT count(*) FROM tenants WHERE slug = :s", s=persona["slug"]) == 0
    assert (await client.get(base, headers=tenant.headers)).json() == []


async def test_nul_in_a_path_or_query_parameter_is_refused(client: Any) -> None:
    tenant = await make_tenant(client)
    assert_refused(await client.get("/v1/tenants/ab%00c", headers=admin_headers()), "slug")
    r = await client.get(f"/v1/tenants/{tenant.slug}/knowledge/search", params={"q": "a\x00"}, headers=tenant.headers)
    assert_refused(r, "q")


async def test_integers_beyond_their_columns_are_refused(client: Any) -> None:
    tenant = await make_tenant(client)
    base = f"/v1/tenants/{tenant.slug}"
    big = {"title": "t", "content": "c", "priority": 2**40}
    assert_refused(await client.post(f"{base}/knowledge", json=big, headers=tenant.headers), "priority")
    assert (await client.get(f"{base}/knowledge", headers=tenant.headers)).json() == []
    for path in ("conversations", "knowledge", "vendors", "concierge/requests"):
        r = await client.get(f"{base}/{path}", params={"offset": 2**70}, headers=tenant.headers)
        assert_refused(r, "offset")
    r = await client.get(
        f"{base}/conversations/{uuid.uuid4()}/messages", params={"before_id": 2**70}, headers=tenant.headers
    )
    assert_refused(r, "before_id")


async def test_a_csv_cell_over_the_csv_field_limit_is_refused_naming_row_and_column(client: Any) -> None:
    tenant = await make_tenant(client)
    csv = "stock_id,make,model,year,price,version\nA1,VW,Jetta,2020,250000," + "x" * 140_000 + "\n"
    r = await client.post(
        f"/v1/tenants/{tenant.slug}/catalog",
        files={"file": ("cars.csv", csv.encode(), "text/csv")},
        headers=tenant.headers,
    )
    error = assert_refused(r, "version")
    assert error["details"]["row"] == 2
    assert await count("SELECT count(*) FROM catalog_items WHERE tenant_id = :t", t=uuid.UUID(tenant.id)) == 0


async def test_knowledge_json_that_is_not_utf8_is_refused(client: Any) -> None:
    tenant = await make_tenant(client)
    body = '[{"title": "Garantía", "content": "Seis meses"}]'.encode("latin-1")
    r = await client.post(
        f"/v1/tenants/{tenant.slug}/knowledge/import",
        content=body,
        headers={**tenant.headers, "content-type": "application/json"},
    )
    assert_refused(r, "UTF-8")
    r = await client.post(
        f"/v1/tenants/{tenant.slug}/knowledge/import",
        content=b"# Horario\n\nAbrimos\x00 a las 9.",
        headers={**tenant.headers, "content-type": "text/markdown"},
    )
    assert_refused(r, "body")
    assert (await client.get(f"/v1/tenants/{tenant.slug}/knowledge", headers=tenant.headers)).json() == []


async def test_a_huge_keyword_is_refused(client: Any) -> None:
    tenant = await make_tenant(client)
    base = f"/v1/tenants/{tenant.slug}/knowledge"
    body = {"title": "t", "content": "c", "keywords": ["k" * 1_000_000]}
    assert_refused(await client.post(base, json=body, headers=tenant.headers), "keywords")
    r = await client.post(f"{base}/import", json=[body], headers=tenant.headers)
    assert_refused(r, "keywords")
    assert (await client.get(base, headers=tenant.headers)).json() == []


async def test_a_usage_report_at_the_end_of_the_calendar_is_refused(client: Any) -> None:
    tenant = await make_tenant(client)
    url = f"/v1/tenants/{tenant.slug}/usage"
    assert_refused(await client.get(url, params={"to": "9999-12-31"}, headers=tenant.headers), "to")
    assert_refused(await client.get(url, params={"from": "0001-01-01"}, headers=tenant.headers), "from")


async def test_a_signed_webhook_with_an_oversized_sid_or_sender_is_refused(client: Any) -> None:
    tenant = await make_tenant(client)
    long_sid = "SM" + "a" * 200
    r = await post_whatsapp(client, to=tenant.number, from_="whatsapp:+5215512345678", body="hola", sid=long_sid)
    assert_refused(r, "MessageSid", status=400)
    assert await count("SELECT count(*) FROM messages WHERE provider_sid = :s", s=long_sid) == 0
    sid = "SM" + uuid.uuid4().hex
    r = await post_whatsapp(client, to=tenant.number, from_="whatsapp:+52" + "1" * 300, body="hola", sid=sid)
    assert_refused(r, "From", status=400)
    assert await count("SELECT count(*) FROM messages WHERE provider_sid = :s", s=sid) == 0


async def test_a_deleted_vendor_behaves_as_the_openapi_document_says(client: Any) -> None:
    tenant = await make_tenant(client)
    base = f"/v1/tenants/{tenant.slug}/vendors"
    body = {
        "name": "Llantas Sur",
        "whatsapp_number": "+5215598765432",
        "categories": ["llantas"],
        "lat": 19.4,
        "lon": -99.1,
    }
    vendor = (await client.post(base, json=body, headers=tenant.headers)).json()
    assert (await client.delete(f"{base}/{vendor['id']}", headers=tenant.headers)).status_code == 204
    assert (await client.delete(f"{base}/{vendor['id']}", headers=tenant.headers)).status_code == 204
    read = await client.get(f"{base}/{vendor['id']}", headers=tenant.headers)
    assert read.status_code == 200 and read.json()["active"] is False
    assert [v["id"] for v in (await client.get(base, headers=tenant.headers)).json()] == [vendor["id"]]
    assert (await client.get(base, params={"active": "true"}, headers=tenant.headers)).json() == []
    paths = (await client.get("/openapi.json")).json()["paths"]
    for method, path in (("delete", "/{vendor_id}"), ("get", "/{vendor_id}"), ("get", "")):
        assert "active=false" in paths[f"/v1/tenants/{{slug}}/vendors{path}"][method]["description"]


# --- a second adversarial pass: each of these answered 500 (and closed the connection) ------------------------


async def test_a_lone_surrogate_in_json_is_refused_naming_the_field(client: Any) -> None:
    """JSON can spell half of a UTF-16 pair (\\ud800), which UTF-8 cannot encode: 422, wherever it is."""
    tenant = await make_tenant(client)
    base = f"/v1/tenants/{tenant.slug}"
    created = await client.post(f"{base}/knowledge", json={"title": "t", "content": "c"}, headers=tenant.headers)
    entry = created.json()["id"]
    raw = {**tenant.headers, "content-type": "application/json"}
    error = assert_refused(
        await client.patch(f"{base}/knowledge/{entry}", content=b'{"content": "x\\ud800"}', headers=raw), "content"
    )
    assert error["details"][0] == {
        "loc": ["body", "content"],
        "msg": "must not contain a lone surrogate (half of a UTF-16 pair)",
        "type": "lone_surrogate",
    }
    body = b'[{"title": "imp", "content": "x", "category": "\\uDFFF"}]'
    assert_refused(await client.post(f"{base}/knowledge/import", content=body, headers=raw), "category")
    variant = b'{"name": "n", "variant": {"tone": "\\ud800"}, "split": 0.5}'
    assert_refused(await client.post(f"{base}/experiments", content=variant, headers=raw), "tone")
    # A whole pair is an ordinary character (here an emoji), stored as sent.
    pair = await client.patch(f"{base}/knowledge/{entry}", content=b'{"content": "ok \\ud83d\\ude97"}', headers=raw)
    assert pair.status_code == 200 and pair.json()["content"] == "ok \U0001f697"
    assert (await client.get(f"{base}/experiments", headers=tenant.headers)).json() == []


async def test_nul_is_refused_whatever_the_json_content_type_is_spelt(client: Any) -> None:
    """FastAPI reads a body as JSON for any application/json or application/*+json, in any case: the chat
    used to strip the NUL and answer 200."""
    tenant = await make_tenant(client)
    url = f"/v1/tenants/{tenant.slug}/chat"
    for content_type in ("APPLICATION/JSON", "application/merge-patch+json", "Application/Json; charset=utf-8"):
        r = await client.post(
            url,
            content=b'{"user": "u\\u0000x", "text": "hola"}',
            headers={**tenant.headers, "content-type": content_type},
        )
        assert_refused(r, "user")
    assert await count("SELECT count(*) FROM conversations WHERE tenant_id = :t", t=uuid.UUID(tenant.id)) == 0


async def test_a_timezone_that_is_not_a_zone_is_refused(client: Any) -> None:
    tenant = await make_tenant(client)
    for zone in ("America", "A" * 300, "../../etc/passwd", "America/" + "x" * 5000):
        r = await client.patch(f"/v1/tenants/{tenant.slug}", json={"timezone": zone}, headers=tenant.headers)
        error = assert_refused(r, "timezone")
        assert len(json.dumps(error)) < 1000, "the error echoes the whole value"
        new = {"slug": f"t-{uuid.uuid4().hex[:10]}", "name": "N", "timezone": zone}
        assert_refused(await client.post("/v1/tenants", json=new, headers=admin_headers()), "timezone")
    read = await client.get(f"/v1/tenants/{tenant.slug}", headers=tenant.headers)
    assert read.json()["timezone"] == "America/Mexico_City"


async def test_a_persona_text_is_bounded(client: Any) -> None:
    tenant = await make_tenant(client)
    url = f"/v1/tenants/{tenant.slug}"
    assert_refused(
        await client.patch(url, json={"persona": {"agent_name": "x" * 1_000_000}}, headers=tenant.headers), "agent_name"
    )
    many = {f"greeting_{i}": "hola" for i in range(21)}
    assert_refused(await client.patch(url, json={"persona": many}, headers=tenant.headers), "persona")
    ok = await client.patch(url, json={"persona": {"agent_name": "Luz"}}, headers=tenant.headers)
    assert ok.status_code == 200 and ok.json()["persona"] == {"agent_name": "Luz"}


async def test_knowledge_json_too_long_or_too_deep_to_read_is_refused(client: Any) -> None:
    tenant = await make_tenant(client)
    url = f"/v1/tenants/{tenant.slug}/knowledge/import"
    headers = {**tenant.headers, "content-type": "application/json"}
    for body in (b"[" + b"9" * 5000 + b"]", b"[" * 100_000 + b"]" * 100_000):
        assert_refused(await client.post(url, content=body, headers=headers), "body")
    assert (await client.get(f"/v1/tenants/{tenant.slug}/knowledge", headers=tenant.headers)).json() == []


async def test_catalog_numbers_beyond_their_columns_are_refused_naming_row_and_column(client: Any) -> None:
    tenant = await make_tenant(client)
    cases = {
        "price": "stock_id,make,model,year,price\nA1,Mazda,3,2020,{}\n".format("9" * 40),
        "km": "stock_id,make,model,year,price,km\nA1,Mazda,3,2020,250000,{}\n".format("9" * 30),
    }
    for column, csv in cases.items():
        r = await client.post(
            f"/v1/tenants/{tenant.slug}/catalog",
            files={"file": ("cars.csv", csv.encode(), "text/csv")},
            headers=tenant.headers,
        )
        error = assert_refused(r, column)
        assert (error["details"]["row"], error["details"]["column"]) == (2, column)
    five_thousand = "stock_id,make,model,year,price\nA1,Mazda,3,2020,{}\n".format("9" * 5000)
    r = await client.post(
        f"/v1/tenants/{tenant.slug}/catalog",
        files={"file": ("cars.csv", five_thousand.encode(), "text/csv")},
        headers=tenant.headers,
    )
    assert_refused(r, "price")
    assert await count("SELECT count(*) FROM catalog_items WHERE tenant_id = :t", t=uuid.UUID(tenant.id)) == 0


async def test_a_vendor_coordinate_too_long_for_a_float_names_its_own_column(client: Any) -> None:
    tenant = await make_tenant(client)
    csv = "name,whatsapp_number,categories,lat,lon\nLlantas Sur,+5215598765432,llantas,{},-99.1\n".format("9" * 5000)
    r = await client.post(
        f"/v1/tenants/{tenant.slug}/vendors/import",
        files={"file": ("vendors.csv", csv.encode(), "text/csv")},
        headers=tenant.headers,
    )
    error = assert_refused(r, "lat")
    assert error["details"]["column"] == "lat", error
    assert (await client.get(f"/v1/tenants/{tenant.slug}/vendors", headers=tenant.headers)).json() == []


async def test_a_signed_webhook_from_something_that_is_not_a_whatsapp_address_is_refused(client: Any) -> None:
    """Every reply goes to From: "whatsapp:" alone made a conversation whose job failed for ever."""
    tenant = await make_tenant(client)
    for sender in ("whatsapp:", "whatsapp:+52 155 1234 5678", "whatsapp:+5215512345678\u200b", "+5215512345678"):
        sid = "SM" + uuid.uuid4().hex
        r = await post_whatsapp(client, to=tenant.number, from_=sender, body="hola", sid=sid)
        assert_refused(r, "From", status=400)
        assert await count("SELECT count(*) FROM messages WHERE provider_sid = :s", s=sid) == 0
    assert await count("SELECT count(*) FROM conversations WHERE tenant_id = :t", t=uuid.UUID(tenant.id)) == 0

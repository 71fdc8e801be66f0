"""Knowledge entries one by one over the API: create, read, list, update (version), soft delete."""

from __future__ import annotations

from typing import Any

from tests.helpers import make_tenant


async def test_entry_lifecycle(client: Any) -> None:
    tenant = await make_tenant(client)
    base = f"/v1/tenants/{tenant.slug}/knowledge"
    body = {"title": "Garantía", "content": "Seis meses de garantía en motor.", "type": "policy"}
    r = await client.post(base, json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    entry = r.json()
    assert entry["version"] == 1 and entry["type"] == "policy" and entry["language"] == "es"
    assert (await client.post(base, json=body, headers=tenant.headers)).status_code == 409

    r = await client.patch(f"{base}/{entry['id']}", json={"content": "Doce meses."}, headers=tenant.headers)
    assert r.json()["version"] == 2
    r = await client.patch(f"{base}/{entry['id']}", json={"priority": 3}, headers=tenant.headers)
    assert r.json()["version"] == 2 and r.json()["priority"] == 3
    assert (await client.patch(f"{base}/{entry['id']}", json={"bogus": 1}, headers=tenant.headers)).status_code == 422
    assert (
        await client.patch(f"{base}/{entry['id']}", json={"title": None}, headers=tenant.headers)
    ).status_code == 422
    cleared = await client.patch(f"{base}/{entry['id']}", json={"category": None}, headers=tenant.headers)
    assert cleared.status_code == 200 and cleared.json()["category"] is None
    hits = (await client.get(f"{base}/search", params={"q": "garantia"}, headers=tenant.headers)).json()
    assert [h["content"] for h in hits] == ["Doce meses."]

    assert (await client.delete(f"{base}/{entry['id']}", headers=tenant.headers)).status_code == 204
    assert (await client.get(f"{base}/{entry['id']}", headers=tenant.headers)).status_code == 404
    assert (await client.get(base, headers=tenant.headers)).json() == []
    assert (await client.get(f"{base}/search", params={"q": "garantia"}, headers=tenant.headers)).json() == []


async def test_another_tenants_entry_is_not_found(client: Any) -> None:
    a, b = await make_tenant(client), await make_tenant(client)
    r = await client.post(f"/v1/tenants/{a.slug}/knowledge", json={"title": "T", "content": "C"}, headers=a.headers)
    entry_id = r.json()["id"]
    assert (await client.get(f"/v1/tenants/{b.slug}/knowledge/{entry_id}", headers=b.headers)).status_code == 404
    assert (await client.delete(f"/v1/tenants/{b.slug}/knowledge/{entry_id}", headers=b.headers)).status_code == 404
    assert (await client.get(f"/v1/tenants/{a.slug}/knowledge/{entry_id}", headers=a.headers)).status_code == 200

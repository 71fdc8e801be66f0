"""Privacy and scoping through the real entry points: what vendors are told, what a tenant key can learn or change.

- A customer's phone numbers, links and e-mail addresses never reach a vendor (signed webhook, real worker,
  fake Twilio).
- A tenant key gets the same 403 for every tenant slug but its own, whether the slug exists or not; the
  admin key still gets 404 for a slug that does not exist.
- A tenant key may lower its LLM budget but not raise or remove it; the admin key may do both.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

import pytest

from app.main import create_app
from tests.fakes.twilio_server import FakeTwilioServer
from tests.helpers import TenantHandle, admin_headers, make_tenant, new_number, say_on_whatsapp, wait_for_bodies
from tests.integration.test_whatsapp_messaging import POLANCO, add_vendors

CONTACTS = (
    "necesito balatas delanteras para un Jetta 2017, mi cel (55) 1234-5678 o +52 1 55 8765 4321, "
    "mi correo juan.perez@gmail.com, fotos en bit.ly/balatas-jetta y https://example.com/fotos?id=7, "
    "wa.me/5215511223344, cerca de Polanco"
)
LEAKS = re.compile(r"1234|5678|8765|4321|1122|3344|@|gmail|perez|bit\.ly|example\.com|wa\.me|https?://", re.IGNORECASE)


@pytest.mark.usefixtures("worker")
async def test_vendors_never_receive_the_customers_numbers_links_or_email(
    client: Any, fake_twilio: FakeTwilioServer
) -> None:
    tenant = await make_tenant(
        client, flags={"concierge": True}, concierge={"zones": [POLANCO], "reply_timeout_minutes": 30}
    )
    vendors = await add_vendors(client, tenant)
    customer = new_number()
    await say_on_whatsapp(client, tenant, customer, CONTACTS, fake_twilio)
    await say_on_whatsapp(client, tenant, customer, "para hoy", fake_twilio)
    confirm = await say_on_whatsapp(client, tenant, customer, "hasta 1500 pesos", fake_twilio)
    assert "balatas delanteras" in confirm.lower() and "polanco" in confirm.lower()
    assert LEAKS.search(confirm) is None  # nothing of it became part of the request either
    assert "cel" not in confirm and "correo" not in confirm  # nor the words that led to it
    await say_on_whatsapp(client, tenant, customer, "sí", fake_twilio)

    for number in vendors:
        [request_text] = await wait_for_bodies(fake_twilio, number, 1)
        assert "balatas delanteras" in request_text.lower() and "jetta 2017" in request_text.lower()
        assert LEAKS.search(request_text) is None, request_text


# ---------------------------------------------------------------------------------------- 404 vs 403


def _tenant_routes() -> list[tuple[str, str]]:
    """Every (method, path) under /v1/tenants/{slug}, other path parameters filled with a random id."""
    routes = []
    for path, operations in create_app().openapi()["paths"].items():
        if "{slug}" not in path:
            continue
        filled = re.sub(r"\{(?!slug\})[^}]+\}", str(uuid.uuid4()), path)
        routes += [(method.upper(), filled) for method in operations]
    return routes


async def test_a_tenant_key_cannot_tell_which_other_tenants_exist(client: Any) -> None:
    mine = await make_tenant(client)
    other = await make_tenant(client)
    missing = f"t-{uuid.uuid4().hex[:10]}"
    routes = _tenant_routes()
    assert len(routes) >= 20
    for method, path in routes:
        answers = []
        for slug in (other.slug, missing):
            r = await client.request(method, path.replace("{slug}", slug), json={}, headers=mine.headers)
            answers.append((r.status_code, r.json()))
        assert answers[0] == answers[1], (method, path, answers)
        assert answers[0][0] == 403 and answers[0][1]["error"]["code"] == "forbidden", (method, path, answers)


async def test_the_admin_key_still_gets_404_for_a_missing_tenant(client: Any) -> None:
    mine = await make_tenant(client)
    missing = f"t-{uuid.uuid4().hex[:10]}"
    r = await client.get(f"/v1/tenants/{missing}", headers=admin_headers())
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await client.get(f"/v1/tenants/{missing}/conversations", headers=admin_headers())
    assert r.status_code == 404
    assert (await client.get(f"/v1/tenants/{mine.slug}", headers=mine.headers)).status_code == 200


# ---------------------------------------------------------------------------------------- the LLM budget


async def _config(client: Any, tenant: TenantHandle) -> dict[str, Any]:
    r = await client.get(f"/v1/tenants/{tenant.slug}/agent-config", headers=tenant.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _put_budget(client: Any, tenant: TenantHandle, budget: str | None, headers: dict[str, str]) -> Any:
    config = await _config(client, tenant)
    config["monthly_budget_usd"] = budget
    config["tone"] = "formal"  # another field changes along with it
    return await client.put(f"/v1/tenants/{tenant.slug}/agent-config", json=config, headers=headers)


def _budget(config: dict[str, Any]) -> Decimal | None:
    value = config["monthly_budget_usd"]
    return None if value is None else Decimal(str(value))


async def test_a_tenant_key_may_lower_its_budget_but_not_raise_or_remove_it(client: Any) -> None:
    tenant = await make_tenant(client)
    assert (await _put_budget(client, tenant, "50", admin_headers())).status_code == 200

    lowered = await _put_budget(client, tenant, "20", tenant.headers)
    assert lowered.status_code == 200, lowered.text
    assert _budget(lowered.json()) == Decimal("20") and lowered.json()["tone"] == "formal"
    for attempt in ("20.01", "1000", None):
        r = await _put_budget(client, tenant, attempt, tenant.headers)
        assert r.status_code == 403, (attempt, r.text)
        error = r.json()["error"]
        assert error["code"] == "forbidden" and error["details"]["field"] == "monthly_budget_usd"
    assert _budget(await _config(client, tenant)) == Decimal("20")

    # The same budget again is not a raise: a tenant can change other fields as long as it sends it.
    assert (await _put_budget(client, tenant, "20", tenant.headers)).status_code == 200

    raised = await _put_budget(client, tenant, "100", admin_headers())
    assert raised.status_code == 200 and _budget(raised.json()) == Decimal("100")
    removed = await _put_budget(client, tenant, None, admin_headers())
    assert removed.status_code == 200 and _budget(removed.json()) is None


async def test_a_tenant_without_a_budget_may_set_one(client: Any) -> None:
    tenant = await make_tenant(client)
    r = await _put_budget(client, tenant, "10", tenant.headers)
    assert r.status_code == 200 and _budget(r.json()) == Decimal("10")
    assert (await _put_budget(client, tenant, None, tenant.headers)).status_code == 403


async def test_admin_only_settings_refuse_a_tenant_key(client: Any) -> None:
    tenant = await make_tenant(client)
    numbers = {"whatsapp_numbers": [new_number()]}
    r = await client.patch(f"/v1/tenants/{tenant.slug}", json=numbers, headers=tenant.headers)
    assert r.status_code == 403
    r = await client.post(f"/v1/tenants/{tenant.slug}/api-keys", json={"name": "mine"}, headers=tenant.headers)
    assert r.status_code == 403
    r = await client.put("/v1/admin/kill-switch", json={"on": False}, headers=tenant.headers)
    assert r.status_code == 403
    # Its own flags stay its own: the kill switch overrides them, and its LLM spend is capped by the budget.
    r = await client.patch(f"/v1/tenants/{tenant.slug}", json={"flags": {"ai_agent": True}}, headers=tenant.headers)
    assert r.status_code == 200 and r.json()["flags"]["ai_agent"] is True

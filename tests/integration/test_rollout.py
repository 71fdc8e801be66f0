"""Feature rollout: per-tenant flags, allowlists, stable percentages and the global kill switch.

``feature_enabled`` is asked through a fresh session each time, as a turn would: every change below
(API or agentctl) must show on the very next call, with no restart and no cache to expire.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.core.db import session_scope
from app.tenants import features
from app.tenants.rollout import in_rollout
from app.tenants.schemas import FEATURES, ConciergeSettings
from tests.helpers import TenantHandle, admin_headers, make_tenant
from tests.integration.agentctl import Cli

NUMBERS = [f"whatsapp:+52155{i:08d}" for i in range(0, 400 * 7919, 7919)]


async def enabled(tenant: TenantHandle, feature: Any, number: str | None) -> bool:
    async with session_scope() as session:
        return await features.feature_enabled(session, uuid.UUID(tenant.id), feature, number)


async def patch(client: Any, tenant: TenantHandle, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.patch(f"/v1/tenants/{tenant.slug}", json=body, headers=tenant.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


@pytest.fixture
async def kill_switch_reset(client: Any) -> AsyncIterator[None]:
    """The kill switch is global: whatever a test does, it is off again afterwards."""
    yield
    r = await client.put("/v1/admin/kill-switch", json={"on": False}, headers=admin_headers())
    assert r.status_code == 200


async def test_everything_is_off_by_default(client: Any) -> None:
    tenant = await make_tenant(client)
    body = (await client.get(f"/v1/tenants/{tenant.slug}", headers=tenant.headers)).json()
    assert body["flags"] == {} and body["rollout"] == {}
    assert body["concierge"] == ConciergeSettings().model_dump(mode="json")  # the documented defaults
    for feature in FEATURES:
        assert not await enabled(tenant, feature, NUMBERS[0]), feature
    with pytest.raises(ValueError, match="unknown feature"):
        await enabled(tenant, "teleport", NUMBERS[0])


async def test_flags_and_allowlist_via_api(client: Any) -> None:
    tenant = await make_tenant(client)
    vip, other = "whatsapp:+5215511112222", NUMBERS[1]
    await patch(client, tenant, {"flags": {"concierge": True, "ocr": False}})
    # A switched-on feature without a rollout entry reaches everyone.
    assert await enabled(tenant, "concierge", other)
    assert not await enabled(tenant, "ocr", other)

    body = await patch(client, tenant, {"rollout": {"concierge": {"allowlist": ["+52 1 55 1111 2222"]}}})
    assert body["rollout"] == {"concierge": {"percentage": 0, "allowlist": ["+5215511112222"]}}
    assert body["flags"] == {"concierge": True, "ocr": False}
    assert await enabled(tenant, "concierge", vip)
    assert await enabled(tenant, "concierge", "+525511112222")  # the same Mexican mobile without the "1"
    assert not await enabled(tenant, "concierge", other)  # percentage 0: allowlist only
    assert not await enabled(tenant, "concierge", None)

    # Rollouts merge feature by feature; the flag still decides first.
    body = await patch(client, tenant, {"rollout": {"ocr": {"percentage": 100}}})
    assert set(body["rollout"]) == {"concierge", "ocr"}
    assert not await enabled(tenant, "ocr", vip)  # flag off
    await patch(client, tenant, {"flags": {"ocr": True}})
    assert await enabled(tenant, "ocr", other) and await enabled(tenant, "ocr", "api-user-7")
    await patch(client, tenant, {"flags": {"concierge": False}})
    assert not await enabled(tenant, "concierge", vip)

    read = (await client.get(f"/v1/tenants/{tenant.slug}", headers=tenant.headers)).json()
    assert read["rollout"]["concierge"]["allowlist"] == ["+5215511112222"]
    for bad in (
        {"rollout": {"concierge": {"percentage": 101}}},
        {"rollout": {"concierge": {"percentage": -1}}},
        {"rollout": {"concierge": {"allowlist": ["5512345678"]}}},
        {"rollout": {"teleport": {"percentage": 5}}},
        {"rollout": {"concierge": {"percent": 5}}},
        {"concierge": {"vendor_daily_cap": 0}},
    ):
        r = await client.patch(f"/v1/tenants/{tenant.slug}", json=bad, headers=tenant.headers)
        assert r.status_code == 422, (bad, r.text)
    # Another tenant's key cannot change this tenant's rollout.
    stranger = await make_tenant(client)
    r = await client.patch(
        f"/v1/tenants/{tenant.slug}", json={"rollout": {"concierge": {"percentage": 100}}}, headers=stranger.headers
    )
    assert r.status_code == 403


async def test_percentage_is_stable_and_read_on_every_call(client: Any) -> None:
    tenant = await make_tenant(client)
    await patch(client, tenant, {"flags": {"concierge": True}, "rollout": {"concierge": {"percentage": 25}}})
    first = [await enabled(tenant, "concierge", n) for n in NUMBERS]
    assert first == [in_rollout(n, "concierge", 25) for n in NUMBERS]  # the stable SHA-256 bucket
    assert 0.15 < sum(first) / len(first) < 0.35
    assert [await enabled(tenant, "concierge", n) for n in NUMBERS] == first  # same answer every turn

    # One snapshot per turn gives the same answers as a fresh read per question.
    async with session_scope() as session:
        snapshot = await features.load_feature_snapshot(session, tenant_id=uuid.UUID(tenant.id))
    assert [await features.feature_enabled(snapshot, uuid.UUID(tenant.id), "concierge", n) for n in NUMBERS] == first
    with pytest.raises(ValueError, match="another tenant"):
        await features.feature_enabled(snapshot, uuid.uuid4(), "concierge", NUMBERS[0])

    # Widening keeps everyone who had it (buckets do not move), and shows on the next call.
    await patch(client, tenant, {"rollout": {"concierge": {"percentage": 60}}})
    wider = [await enabled(tenant, "concierge", n) for n in NUMBERS]
    assert all(w for f, w in zip(first, wider, strict=True) if f) and sum(wider) > sum(first)
    await patch(client, tenant, {"rollout": {"concierge": {"percentage": 100}}})
    assert all([await enabled(tenant, "concierge", n) for n in NUMBERS[:50]])
    await patch(client, tenant, {"rollout": {"concierge": {"percentage": 0, "allowlist": [NUMBERS[3]]}}})
    assert [await enabled(tenant, "concierge", n) for n in NUMBERS[:6]] == [False, False, False, True, False, False]


async def test_kill_switch_via_api_turns_every_feature_off_at_once(client: Any, kill_switch_reset: None) -> None:
    a, b = await make_tenant(client), await make_tenant(client)
    everything = {f: True for f in FEATURES}
    for tenant in (a, b):
        await patch(client, tenant, {"flags": everything})
        assert all([await enabled(tenant, f, NUMBERS[0]) for f in FEATURES])

    assert (await client.get("/v1/admin/kill-switch")).status_code == 401
    assert (await client.get("/v1/admin/kill-switch", headers=a.headers)).status_code == 403
    refused = await client.put("/v1/admin/kill-switch", json={"on": True}, headers=a.headers)
    assert refused.status_code == 403
    assert all([await enabled(a, f, NUMBERS[0]) for f in FEATURES])

    on = await client.put("/v1/admin/kill-switch", json={"on": True, "reason": "LLM bill"}, headers=admin_headers())
    assert on.status_code == 200, on.text
    assert on.json()["on"] is True and on.json()["reason"] == "LLM bill" and on.json()["changed_at"]
    assert (await client.get("/v1/admin/kill-switch", headers=admin_headers())).json()["on"] is True
    for tenant in (a, b):
        for feature in FEATURES:
            assert not await enabled(tenant, feature, NUMBERS[0]), (tenant.slug, feature)
    # The flags themselves are untouched: switching back restores each tenant's own choice.
    assert (await client.get(f"/v1/tenants/{a.slug}", headers=a.headers)).json()["flags"] == everything

    off = await client.put("/v1/admin/kill-switch", json={"on": False}, headers=admin_headers())
    assert off.json()["on"] is False
    assert all([await enabled(b, f, NUMBERS[0]) for f in FEATURES])
    bad = await client.put("/v1/admin/kill-switch", json={"on": "maybe"}, headers=admin_headers())
    assert bad.status_code == 422


async def agentctl(cli: Cli, *args: str) -> str:
    """agentctl runs its own event loop, so from an async test it runs in a thread."""
    return await asyncio.to_thread(cli.ok, *args)


async def test_flags_rollout_and_kill_switch_via_cli(client: Any, cli: Cli, kill_switch_reset: None) -> None:
    tenant = await make_tenant(client)
    out = await agentctl(cli, "tenant", "flags", tenant.slug, "concierge=on", "ocr=off")
    assert "concierge: on" in out and "ocr: off" in out and "calling: off" in out
    assert (await client.get(f"/v1/tenants/{tenant.slug}", headers=tenant.headers)).json()["flags"] == {
        "concierge": True,
        "ocr": False,
    }
    assert await enabled(tenant, "concierge", NUMBERS[0])
    for bad in (("teleport=on",), ("concierge=maybe",), ("concierge",)):
        result = await asyncio.to_thread(cli.invoke, "tenant", "flags", tenant.slug, *bad)
        assert result.exit_code == 2 and "error" in result.output, (bad, result.output)
    assert "ai_agent: off" in await agentctl(cli, "tenant", "flags", tenant.slug)

    out = await agentctl(
        cli,
        "tenant",
        "rollout",
        tenant.slug,
        "--feature",
        "concierge",
        "--percentage",
        "25",
        "--allow",
        "+5215511112222",
    )
    assert 'concierge: 25% + allowlist ["+5215511112222"]' in out
    body = (await client.get(f"/v1/tenants/{tenant.slug}", headers=tenant.headers)).json()
    assert body["rollout"]["concierge"] == {"percentage": 25, "allowlist": ["+5215511112222"]}
    assert await enabled(tenant, "concierge", "whatsapp:+5215511112222")
    outsider = next(n for n in NUMBERS if not in_rollout(n, "concierge", 25))
    assert not await enabled(tenant, "concierge", outsider)

    out = await agentctl(
        cli,
        "tenant",
        "rollout",
        tenant.slug,
        "--feature",
        "concierge",
        "--allow",
        outsider,
        "--disallow",
        "+525511112222",
    )
    assert "25%" in out and "+5215511112222" not in out
    assert await enabled(tenant, "concierge", outsider)
    assert not await enabled(tenant, "concierge", "whatsapp:+5215511112222")
    assert "ocr: no rollout" in await agentctl(cli, "tenant", "rollout", tenant.slug)
    for options in (("--percentage", "5"), ("--feature", "teleport", "--percentage", "5")):
        result = await asyncio.to_thread(cli.invoke, "tenant", "rollout", tenant.slug, *options)
        assert result.exit_code == 2, (options, result.output)
    result = await asyncio.to_thread(
        cli.invoke, "tenant", "rollout", tenant.slug, "--feature", "ocr", "--allow", "not-a-number"
    )
    assert result.exit_code == 2 and "Traceback" not in result.output

    assert "kill switch: off" in await agentctl(cli, "killswitch", "status")
    out = await agentctl(cli, "killswitch", "on", "--reason", "drill")
    assert "ON" in out and "drill" in out
    assert "ON" in await agentctl(cli, "killswitch", "status")
    assert not await enabled(tenant, "concierge", outsider)  # at once, no restart
    assert (await client.get("/v1/admin/kill-switch", headers=admin_headers())).json()["reason"] == "drill"
    assert "kill switch: off" in await agentctl(cli, "killswitch", "off")
    assert await enabled(tenant, "concierge", outsider)

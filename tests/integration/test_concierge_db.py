"""Concierge storage: vendors (API, CSV import), the request state machine, outreach and vendor selection.

Real PostgreSQL; each test makes its own tenant, so tests never see each other's vendors or requests.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.concierge import service as concierge_service
from app.concierge.models import REQUEST_STATES, ConciergeRequest, Vendor, VendorOutreach
from app.concierge.replies import parse_vendor_reply
from app.concierge.schemas import VendorCreate
from app.conversations import service as conversation_service
from app.core.db import session_scope
from app.core.errors import Conflict, NotFound
from tests.helpers import TenantHandle, admin_headers, make_tenant, new_number
from tests.integration.agentctl import Cli

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MX = ZoneInfo("America/Mexico_City")

VENDORS_CSV = """name,whatsapp_number,categories,lat,lon,opening_hours,call_consent
Llantera Centro,+52 1 55 1000 0001,llantas;Rines,19.4326,-99.1332,lun-vie 09:00-19:00,sí
Refaccionaria Sur,whatsapp:+5215510000002,refacciones; Baterías,19.3000,-99.1500,,no
Autopartes Norte,0052 1 55 1000 0003,llantas,19.5000,-99.1300,24h,
"""


def vendor_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Llantera La Güera",
        "whatsapp_number": new_number(),
        "categories": ["Llantas", "rines"],
        "lat": 19.43,
        "lon": -99.13,
        "opening_hours": "lun-vie 09:00-19:00; sáb 10-14",
    }
    body.update(overrides)
    return body


async def upload(client: Any, tenant: TenantHandle, csv_text: str) -> Any:
    return await client.post(
        f"/v1/tenants/{tenant.slug}/vendors/import",
        files={"file": ("vendors.csv", csv_text.encode(), "text/csv")},
        headers=tenant.headers,
    )


async def vendor_rows(tenant_id: str) -> list[Vendor]:
    async with session_scope() as session:
        stmt = select(Vendor).where(Vendor.tenant_id == uuid.UUID(tenant_id)).order_by(Vendor.name)
        return list((await session.execute(stmt)).scalars().all())


# --- vendors API ----------------------------------------------------------------------------------


async def test_vendor_crud(client: Any) -> None:
    tenant = await make_tenant(client)
    base = f"/v1/tenants/{tenant.slug}/vendors"
    created = await client.post(
        base, json=vendor_body(whatsapp_number="+52 (1) 55-2222-3333", call_consent=True), headers=tenant.headers
    )
    assert created.status_code == 201, created.text
    vendor = created.json()
    assert vendor["whatsapp_number"] == "whatsapp:+5215522223333"
    assert vendor["categories"] == ["llantas", "rines", "auto_parts"]  # the kind a request is matched by
    assert vendor["call_consent"] is True and vendor["call_consent_at"] is not None
    assert vendor["opted_out"] is False and vendor["active"] is True

    again = await client.post(base, json=vendor_body(whatsapp_number="whatsapp:+5215522223333"), headers=tenant.headers)
    assert again.status_code == 409
    assert again.json()["error"]["details"]["vendor_id"] == vendor["id"]

    listed = await client.get(base, headers=tenant.headers)
    assert [v["id"] for v in listed.json()] == [vendor["id"]]
    assert (await client.get(base, params={"category": "RINES"}, headers=tenant.headers)).json()[0]["id"] == vendor[
        "id"
    ]
    assert (await client.get(base, params={"category": "baterias"}, headers=tenant.headers)).json() == []

    one = await client.get(f"{base}/{vendor['id']}", headers=tenant.headers)
    assert one.status_code == 200 and one.json()["name"] == "Llantera La Güera"

    patched = await client.patch(
        f"{base}/{vendor['id']}", json={"opted_out": True, "call_consent": False}, headers=tenant.headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["opted_out"] is True and patched.json()["opted_out_at"] is not None
    assert patched.json()["call_consent"] is False and patched.json()["call_consent_at"] is None

    for bad in (
        {"lat": 91},
        {"opening_hours": "lunes a veces"},
        {"whatsapp_number": "5512345678"},
        {"name": None},
        {"categories": None},
        {"whatsapp_number": None},
    ):
        r = await client.patch(f"{base}/{vendor['id']}", json=bad, headers=tenant.headers)
        assert r.status_code == 422, (bad, r.text)
    bad_create = await client.post(base, json=vendor_body(categories=[" "]), headers=tenant.headers)
    assert bad_create.status_code == 422

    deleted = await client.delete(f"{base}/{vendor['id']}", headers=tenant.headers)
    assert deleted.status_code == 204
    after = await client.get(f"{base}/{vendor['id']}", headers=tenant.headers)
    assert after.json()["active"] is False
    assert (await client.get(base, params={"active": True}, headers=tenant.headers)).json() == []
    missing = await client.get(f"{base}/{uuid.uuid4()}", headers=tenant.headers)
    assert missing.status_code == 404


async def test_vendor_csv_import_is_atomic_and_idempotent(client: Any) -> None:
    tenant = await make_tenant(client)
    first = await upload(client, tenant, VENDORS_CSV)
    assert first.status_code == 200, first.text
    assert first.json() == {"rows": 3, "created": 3, "updated": 0, "unchanged": 0}
    rows = await vendor_rows(tenant.id)
    by_name = {v.name: v for v in rows}
    assert by_name["Llantera Centro"].whatsapp_number == "whatsapp:+5215510000001"
    assert by_name["Llantera Centro"].categories == ["llantas", "rines", "auto_parts"]
    assert by_name["Llantera Centro"].call_consent and by_name["Llantera Centro"].call_consent_at is not None
    assert by_name["Refaccionaria Sur"].categories == ["refacciones", "baterias", "auto_parts"]
    assert by_name["Refaccionaria Sur"].opening_hours is None and not by_name["Refaccionaria Sur"].call_consent
    assert by_name["Autopartes Norte"].whatsapp_number == "whatsapp:+5215510000003"
    stamps = {v.id: v.updated_at for v in rows}

    again = await upload(client, tenant, VENDORS_CSV)
    assert again.json() == {"rows": 3, "created": 0, "updated": 0, "unchanged": 3}
    assert {v.id: v.updated_at for v in await vendor_rows(tenant.id)} == stamps  # untouched

    # An opt-out is the vendor's wish: re-importing the sheet does not undo it.
    async with session_scope() as session:
        await concierge_service.set_vendor_opt_out(
            session, tenant_id=uuid.UUID(tenant.id), vendor_id=by_name["Autopartes Norte"].id
        )
    changed = VENDORS_CSV.replace("Llantera Centro", "Llantera del Centro") + (
        "Nueva Llantera,+525510000004,llantas,19.44,-99.14,,\n"
    )
    third = await upload(client, tenant, changed)
    assert third.json() == {"rows": 4, "created": 1, "updated": 1, "unchanged": 2}
    rows = await vendor_rows(tenant.id)
    assert len(rows) == 4
    assert {v.id for v in rows} >= set(stamps)  # upserted by number: same ids
    assert next(v for v in rows if v.name == "Autopartes Norte").opted_out


@pytest.mark.parametrize(
    ("csv_tail", "row", "column"),
    [
        ("Mala,+525510000009,llantas,95.0,-99.1,,\n", 5, "lat"),
        ("Mala,+525510000009,llantas,19.4,-99.1,lunes a veces,\n", 5, "opening_hours"),
        ("Mala,5510000009,llantas,19.4,-99.1,,\n", 5, "whatsapp_number"),
        ("Mala,+525510000009,,19.4,-99.1,,\n", 5, "categories"),
        ("Mala,+525510000009,llantas,norte,-99.1,,\n", 5, "lat"),
        ("Mala,+525510000009,llantas,19.4,-99.1,,quizá\n", 5, "call_consent"),
        ("Copia,+52 1 55 1000 0001,llantas,19.4,-99.1,,\n", 5, "whatsapp_number"),
    ],
)
async def test_vendor_csv_bad_row_names_row_and_column_and_writes_nothing(
    client: Any, csv_tail: str, row: int, column: str
) -> None:
    tenant = await make_tenant(client)
    r = await upload(client, tenant, VENDORS_CSV + csv_tail)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["details"]["row"] == row and error["details"]["column"] == column, error
    assert f"Row {row}" in error["message"] and column in error["message"]
    assert await vendor_rows(tenant.id) == []  # the three good rows before it were not written either


async def test_vendor_csv_missing_column_and_empty_file(client: Any) -> None:
    tenant = await make_tenant(client)
    r = await upload(client, tenant, "name,whatsapp_number,lat,lon\nA,+525510000001,19.4,-99.1\n")
    assert r.status_code == 422
    assert r.json()["error"]["details"]["column"] == "categories"
    assert (await upload(client, tenant, "")).status_code == 422


async def test_vendors_are_isolated_between_tenants(client: Any) -> None:
    a, b = await make_tenant(client), await make_tenant(client)
    created = await client.post(f"/v1/tenants/{a.slug}/vendors", json=vendor_body(), headers=a.headers)
    vendor_id = created.json()["id"]
    # B's key on A's path: refused outright.
    for method, path in (
        ("GET", f"/v1/tenants/{a.slug}/vendors"),
        ("GET", f"/v1/tenants/{a.slug}/vendors/{vendor_id}"),
        ("PATCH", f"/v1/tenants/{a.slug}/vendors/{vendor_id}"),
        ("DELETE", f"/v1/tenants/{a.slug}/vendors/{vendor_id}"),
        ("GET", f"/v1/tenants/{a.slug}/concierge/requests"),
    ):
        r = await client.request(method, path, json={"name": "x"} if method == "PATCH" else None, headers=b.headers)
        assert r.status_code == 403, (method, path, r.status_code)
    # B's own path with A's vendor id: not found, and nothing changed.
    for method in ("GET", "PATCH", "DELETE"):
        r = await client.request(
            method,
            f"/v1/tenants/{b.slug}/vendors/{vendor_id}",
            json={"name": "Robado"} if method == "PATCH" else None,
            headers=b.headers,
        )
        assert r.status_code == 404, (method, r.status_code)
    assert (await client.get(f"/v1/tenants/{b.slug}/vendors", headers=b.headers)).json() == []
    imported = await upload(client, b, VENDORS_CSV)
    assert imported.json()["created"] == 3
    still = await client.get(f"/v1/tenants/{a.slug}/vendors/{vendor_id}", headers=a.headers)
    assert still.json()["name"] == "Llantera La Güera" and still.json()["active"] is True
    assert len(await vendor_rows(a.id)) == 1
    assert (await client.get(f"/v1/tenants/{a.slug}/vendors", headers=admin_headers())).status_code == 200
    # The same number may be a vendor of both tenants (each tenant's own list).
    same = await client.post(
        f"/v1/tenants/{b.slug}/vendors",
        json=vendor_body(whatsapp_number=created.json()["whatsapp_number"]),
        headers=b.headers,
    )
    assert same.status_code == 201


# --- requests: the state machine ------------------------------------------------------------------


async def new_request(tenant_id: uuid.UUID) -> ConciergeRequest:
    customer = new_number()
    async with session_scope() as session:
        conversation = await conversation_service.upsert_conversation(
            session, tenant_id=tenant_id, customer=conversation_service.customer_key(customer)
        )
        return await concierge_service.create_request(
            session,
            tenant_id=tenant_id,
            conversation_id=conversation.id,
            customer_number=customer,
            requirements={"category": "llantas"},
        )


def path_to(state: str) -> list[str]:
    """The shortest chain of legal moves from collecting_requirements to ``state``."""
    seen = {"collecting_requirements": ["collecting_requirements"]}
    queue = deque(["collecting_requirements"])
    while queue:
        here = queue.popleft()
        for nxt in sorted(concierge_service.TRANSITIONS[here]):
            if nxt not in seen:
                seen[nxt] = [*seen[here], nxt]
                queue.append(nxt)
    return seen[state]


async def drive(request: ConciergeRequest, state: str) -> ConciergeRequest:
    current = request
    for step in path_to(state)[1:]:
        async with session_scope() as session:
            current = await concierge_service.transition(session, request.id, step, tenant_id=request.tenant_id)
    return current


LEGAL = sorted((src, dst) for src, targets in concierge_service.TRANSITIONS.items() for dst in targets)


async def test_every_legal_transition_moves_and_stamps(client: Any) -> None:
    tenant = await make_tenant(client)
    tenant_id = uuid.UUID(tenant.id)
    assert len(LEGAL) >= 20
    for src, dst in LEGAL:
        request = await drive(await new_request(tenant_id), src)
        assert request.status == src
        before = request.status_changed_at
        async with session_scope() as session:
            moved = await concierge_service.transition(session, request.id, dst, tenant_id=tenant_id)
        assert moved.status == dst, (src, dst)
        assert getattr(moved, f"{dst}_at") is not None, (src, dst)
        assert moved.status_changed_at >= before
        assert moved.collecting_requirements_at is not None


async def test_transition_sets_fields_in_the_same_update(client: Any) -> None:
    tenant_id = uuid.UUID((await make_tenant(client)).id)
    request = await drive(await new_request(tenant_id), "vendor_outreach")
    deadline = datetime.now(UTC) + timedelta(hours=2)
    async with session_scope() as session:
        moved = await concierge_service.transition(
            session, request.id, "awaiting_vendor_replies", tenant_id=tenant_id, deadline_at=deadline
        )
    assert moved.deadline_at == deadline
    async with session_scope() as session:
        due = await concierge_service.expired_waiting_requests(session, now=deadline + timedelta(seconds=1))
        assert (tenant_id, request.id) in due
        assert (tenant_id, request.id) not in await concierge_service.expired_waiting_requests(
            session, now=deadline - timedelta(minutes=1)
        )
    with pytest.raises(ValueError, match="cannot set"):
        async with session_scope() as session:
            await concierge_service.transition(session, request.id, "closed", tenant_id=tenant_id, status="open")


async def test_illegal_transition_is_refused_and_changes_nothing(client: Any) -> None:
    tenant_id = uuid.UUID((await make_tenant(client)).id)
    request = await new_request(tenant_id)
    for target in ("shortlist_ready", "awaiting_vendor_replies", "collecting_requirements"):
        with pytest.raises(concierge_service.IllegalTransition) as caught:
            async with session_scope() as session:
                await concierge_service.transition(session, request.id, target, tenant_id=tenant_id)
        assert caught.value.details["from"] == "collecting_requirements"
        assert caught.value.details["to"] == target
        assert f"from collecting_requirements to {target}" in caught.value.message
    async with session_scope() as session:
        row = await concierge_service.get_request(session, tenant_id=tenant_id, request_id=request.id)
        assert row.status == "collecting_requirements"
        assert row.shortlist_ready_at is None and row.awaiting_vendor_replies_at is None
        assert row.status_changed_at == request.status_changed_at
    closed = await drive(request, "closed")
    for target in REQUEST_STATES:
        with pytest.raises(concierge_service.IllegalTransition):
            async with session_scope() as session:
                await concierge_service.transition(session, closed.id, target, tenant_id=tenant_id)
    # Another tenant cannot move it (it does not exist for them).
    other = uuid.UUID((await make_tenant(client)).id)
    with pytest.raises(NotFound):
        async with session_scope() as session:
            await concierge_service.transition(session, request.id, "error", tenant_id=other)


async def test_concurrent_double_transition_only_one_wins(client: Any) -> None:
    tenant_id = uuid.UUID((await make_tenant(client)).id)
    for _ in range(3):
        request = await drive(await new_request(tenant_id), "awaiting_vendor_replies")
        first_moved = asyncio.Event()

        async def holder(req: ConciergeRequest = request, moved: asyncio.Event = first_moved) -> str:
            async with session_scope() as session:
                await concierge_service.transition(session, req.id, "shortlist_ready", tenant_id=tenant_id)
                moved.set()
                await asyncio.sleep(0.3)  # keep the row locked while the rival tries
            return "won"

        async def rival(req: ConciergeRequest = request, moved: asyncio.Event = first_moved) -> str:
            await moved.wait()
            try:
                async with session_scope() as session:
                    await concierge_service.transition(session, req.id, "shortlist_ready", tenant_id=tenant_id)
            except concierge_service.IllegalTransition:
                return "refused"
            return "won"

        assert sorted(await asyncio.gather(holder(), rival())) == ["refused", "won"]

    # And with no choreography at all: many at once, exactly one moves it.
    request = await drive(await new_request(tenant_id), "awaiting_vendor_replies")

    async def attempt() -> bool:
        try:
            async with session_scope() as session:
                await concierge_service.transition(session, request.id, "shortlist_ready", tenant_id=tenant_id)
        except concierge_service.IllegalTransition:
            return False
        return True

    assert sum(await asyncio.gather(*(attempt() for _ in range(6)))) == 1


async def test_one_open_request_per_conversation(client: Any) -> None:
    tenant_id = uuid.UUID((await make_tenant(client)).id)
    request = await new_request(tenant_id)
    with pytest.raises(Conflict) as caught:
        async with session_scope() as session:
            await concierge_service.create_request(
                session,
                tenant_id=tenant_id,
                conversation_id=request.conversation_id,
                customer_number=request.customer_number,
            )
    assert caught.value.details["request_id"] == str(request.id)
    await drive(request, "closed")
    async with session_scope() as session:
        second = await concierge_service.create_request(
            session, tenant_id=tenant_id, conversation_id=request.conversation_id, customer_number="x"
        )
        found = await concierge_service.open_request_for_conversation(
            session, tenant_id=tenant_id, conversation_id=request.conversation_id
        )
    assert found is not None and found.id == second.id
    # Another tenant cannot start a request on this tenant's conversation.
    other = uuid.UUID((await make_tenant(client)).id)
    with pytest.raises(NotFound):
        async with session_scope() as session:
            await concierge_service.create_request(
                session, tenant_id=other, conversation_id=request.conversation_id, customer_number="x"
            )


# --- outreach -------------------------------------------------------------------------------------


async def add_vendor(tenant_id: uuid.UUID, **overrides: Any) -> Vendor:
    body = vendor_body(**overrides)
    async with session_scope() as session:
        return await concierge_service.create_vendor(session, tenant_id=tenant_id, data=VendorCreate(**body))


async def outreach_rows(vendor_id: uuid.UUID) -> list[VendorOutreach]:
    async with session_scope() as session:
        stmt = select(VendorOutreach).where(VendorOutreach.vendor_id == vendor_id).order_by(VendorOutreach.id)
        return list((await session.execute(stmt)).scalars().all())


async def outreach_count(request_id: uuid.UUID, vendor_id: uuid.UUID | None = None) -> int:
    async with session_scope() as session:
        stmt = select(func.count()).where(VendorOutreach.request_id == request_id)
        if vendor_id is not None:
            stmt = stmt.where(VendorOutreach.vendor_id == vendor_id)
        return int((await session.execute(stmt)).scalar_one())


async def test_reserve_outreach_never_asks_a_vendor_twice(client: Any) -> None:
    tenant_id = uuid.UUID((await make_tenant(client)).id)
    request = await drive(await new_request(tenant_id), "vendor_outreach")
    v1, v2, v3 = [await add_vendor(tenant_id, name=f"V{i}") for i in range(3)]
    async with session_scope() as session:
        first = await concierge_service.reserve_outreach(session, request, [v1, v2], 1)
    assert [o.vendor_id for o in first] == [v1.id, v2.id]
    assert all(o.status == "queued" and o.batch == 1 and o.tenant_id == tenant_id for o in first)
    async with session_scope() as session:
        second = await concierge_service.reserve_outreach(session, request, [v2, v1, v3.id, v3], 2)
    assert [(o.vendor_id, o.batch) for o in second] == [(v3.id, 2)]
    assert await outreach_count(request.id) == 3

    # Another tenant's vendor, or one that opted out, cannot be reserved.
    foreign = await add_vendor(uuid.UUID((await make_tenant(client)).id))
    out = await add_vendor(tenant_id, name="Fuera")
    async with session_scope() as session:
        await concierge_service.set_vendor_opt_out(session, tenant_id=tenant_id, vendor_id=out.id)
        assert await concierge_service.reserve_outreach(session, request, [foreign, out], 2) == []

    # Two jobs reserving the same vendor at the same moment: one row, one winner.
    racer = await add_vendor(tenant_id, name="Racer")
    started = asyncio.Event()

    async def holder() -> int:
        async with session_scope() as session:
            got = await concierge_service.reserve_outreach(session, request, [racer], 3)
            started.set()
            await asyncio.sleep(0.3)
        return len(got)

    async def rival() -> int:
        await started.wait()
        async with session_scope() as session:
            return len(await concierge_service.reserve_outreach(session, request, [racer], 3))

    assert sorted(await asyncio.gather(holder(), rival())) == [0, 1]
    racer2 = await add_vendor(tenant_id, name="Racer 2")

    async def reserve() -> int:
        async with session_scope() as session:
            return len(await concierge_service.reserve_outreach(session, request, [racer2], 3))

    assert sum(await asyncio.gather(*(reserve() for _ in range(6)))) == 1
    assert await outreach_count(request.id, racer.id) == 1
    assert await outreach_count(request.id, racer2.id) == 1


async def test_reserve_outreach_keeps_the_daily_cap_under_concurrency(client: Any) -> None:
    tenant = await make_tenant(client)
    tenant_id = uuid.UUID(tenant.id)
    await client.patch(
        f"/v1/tenants/{tenant.slug}", json={"concierge": {"vendor_daily_cap": 1}}, headers=tenant.headers
    )
    vendor = await add_vendor(tenant_id)
    requests = [await new_request(tenant_id) for _ in range(5)]

    async def reserve(request: ConciergeRequest) -> int:
        async with session_scope() as session:
            return len(await concierge_service.reserve_outreach(session, request, [vendor], 1))

    # Five requests race for the vendor's one slot of the day: exactly one gets it.
    assert sum(await asyncio.gather(*(reserve(r) for r in requests))) == 1
    async with session_scope() as session:
        count = await concierge_service.outreach_last_day(
            session, tenant_id=tenant_id, vendor_id=vendor.id, now=datetime.now(UTC)
        )
        assert count == 1
    # An explicit cap overrides the tenant's: a request that lost the race gets the vendor with a cap of 2.
    asked = {o.request_id for o in await outreach_rows(vendor.id)}
    loser, third = [r for r in requests if r.id not in asked][:2]
    async with session_scope() as session:
        assert len(await concierge_service.reserve_outreach(session, loser, [vendor], 1, daily_cap=2)) == 1
        assert await concierge_service.reserve_outreach(session, third, [vendor], 1, daily_cap=2) == []  # 2 today
    # A failed send does not use up the slot.
    async with session_scope() as session:
        for row in await outreach_rows(vendor.id):
            await concierge_service.mark_outreach_failed(
                session, tenant_id=tenant_id, outreach_id=row.id, error="63016 outside the 24 h window"
            )
    fresh = await new_request(tenant_id)
    assert await reserve(fresh) == 1


async def test_outreach_bookkeeping_and_replies(client: Any) -> None:
    tenant = await make_tenant(client)
    tenant_id = uuid.UUID(tenant.id)
    request = await drive(await new_request(tenant_id), "vendor_outreach")
    vendor = await add_vendor(tenant_id, whatsapp_number="+5215533334444")
    async with session_scope() as session:
        (outreach,) = await concierge_service.reserve_outreach(session, request, [vendor], 1)
        # Not yet sent: a message from the vendor is not an answer to anything.
        assert (
            await concierge_service.open_outreach_for_vendor(
                session, tenant_id=tenant_id, number="whatsapp:+5215533334444"
            )
            is None
        )
        sid = "SM" + uuid.uuid4().hex
        assert await concierge_service.mark_outreach_sent(
            session, tenant_id=tenant_id, outreach_id=outreach.id, message_sid=sid
        )
        assert not await concierge_service.mark_outreach_sent(
            session, tenant_id=tenant_id, outreach_id=outreach.id, message_sid="SMother"
        )
        await concierge_service.transition(session, request.id, "awaiting_vendor_replies", tenant_id=tenant_id)
    async with session_scope() as session:
        # The webhook's From, in the other Mexican spelling (without the "1"), finds the vendor.
        found = await concierge_service.open_outreach_for_vendor(
            session, tenant_id=tenant_id, number="whatsapp:+525533334444"
        )
        assert found is not None and found[0].id == vendor.id and found[1].id == outreach.id
        other_tenant = uuid.UUID((await make_tenant(client)).id)
        assert (
            await concierge_service.open_outreach_for_vendor(
                session, tenant_id=other_tenant, number="whatsapp:+5215533334444"
            )
            is None
        )
        reply_sid = "SM" + uuid.uuid4().hex
        text = "Sí tengo, $1,850 cada una, entrega mañana"
        reply = await concierge_service.record_vendor_reply(
            session,
            tenant_id=tenant_id,
            outreach_id=outreach.id,
            raw=text,
            message_sid=reply_sid,
            parsed=parse_vendor_reply(text),
        )
        assert reply is not None
        assert reply.available is True and reply.price == Decimal("1850.00") and reply.currency == "MXN"
        assert reply.delivery_hours is not None and reply.parsed["available"] is True
        duplicate = await concierge_service.record_vendor_reply(
            session, tenant_id=tenant_id, outreach_id=outreach.id, raw="Sí tengo", message_sid=reply_sid
        )
        assert duplicate is None  # Twilio retried the webhook: recorded once
        with pytest.raises(NotFound):
            await concierge_service.record_vendor_reply(
                session, tenant_id=other_tenant, outreach_id=outreach.id, raw="hola"
            )

    detail = await client.get(f"/v1/tenants/{tenant.slug}/concierge/requests/{request.id}", headers=tenant.headers)
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert body["status"] == "awaiting_vendor_replies" and body["requirements"] == {"category": "llantas"}
    (row,) = body["outreach"]
    assert row["vendor_id"] == str(vendor.id) and row["status"] == "replied" and row["message_sid"] == sid
    assert row["sent_at"] and row["replied_at"]
    assert row["replies"][0]["price"] == "1850.00" and row["replies"][0]["currency"] == "MXN"

    listed = await client.get(
        f"/v1/tenants/{tenant.slug}/concierge/requests",
        params={"status": "awaiting_vendor_replies"},
        headers=tenant.headers,
    )
    assert [r["id"] for r in listed.json()] == [str(request.id)]
    none = await client.get(
        f"/v1/tenants/{tenant.slug}/concierge/requests", params={"status": "closed"}, headers=tenant.headers
    )
    assert none.json() == []
    bad = await client.get(
        f"/v1/tenants/{tenant.slug}/concierge/requests", params={"status": "nope"}, headers=tenant.headers
    )
    assert bad.status_code == 422
    # Another tenant's key sees neither the list entry nor the request.
    other = await make_tenant(client)
    r = await client.get(f"/v1/tenants/{other.slug}/concierge/requests/{request.id}", headers=other.headers)
    assert r.status_code == 404
    assert (await client.get(f"/v1/tenants/{other.slug}/concierge/requests", headers=other.headers)).json() == []


# --- vendor selection -----------------------------------------------------------------------------


def closed_now_spec(now: datetime) -> str:
    """Opening hours that do not include ``now`` in Mexico City: only two days from today."""
    other_day = DAYS[(now.astimezone(MX).weekday() + 2) % 7]
    return f"{other_day} 09:00-10:00"


async def test_select_vendors_by_category_distance_hours_opt_out_and_cap(client: Any) -> None:
    tenant_id = uuid.UUID((await make_tenant(client)).id)
    now = datetime.now(UTC)
    today = DAYS[now.astimezone(MX).weekday()]
    here = (19.4326, -99.1332)  # Zócalo, Mexico City
    near = await add_vendor(tenant_id, name="Near", lat=19.4340, lon=-99.1340, opening_hours="24h")
    nearer = await add_vendor(tenant_id, name="Nearer", lat=19.4327, lon=-99.1333, opening_hours=None)
    mid = await add_vendor(tenant_id, name="Mid", lat=19.40, lon=-99.16, opening_hours=f"{today} 00:00-24:00")
    await add_vendor(tenant_id, name="Far", lat=20.67, lon=-103.35, opening_hours="24h")  # Guadalajara
    await add_vendor(tenant_id, name="Closed", lat=19.4330, lon=-99.1335, opening_hours=closed_now_spec(now))
    await add_vendor(
        tenant_id, name="Batteries", lat=19.4326, lon=-99.1332, categories=["Baterías"], opening_hours="24h"
    )
    opted = await add_vendor(tenant_id, name="Opted out", lat=19.4326, lon=-99.1332, opening_hours="24h")
    gone = await add_vendor(tenant_id, name="Removed", lat=19.4326, lon=-99.1332, opening_hours="24h")
    async with session_scope() as session:
        await concierge_service.set_vendor_opt_out(session, tenant_id=tenant_id, vendor_id=opted.id)
        await concierge_service.deactivate_vendor(session, tenant_id=tenant_id, vendor_id=gone.id)
    # Another tenant's vendor right at the customer's location never shows up.
    await add_vendor(uuid.UUID((await make_tenant(client)).id), name="Foreign", lat=19.4326, lon=-99.1332)

    async def pick(**kwargs: Any) -> list[concierge_service.VendorCandidate]:
        args: dict[str, Any] = {"category": "Llantas", "location": here, "limit": 10, "now": now, **kwargs}
        async with session_scope() as session:
            return await concierge_service.select_vendors(session, tenant_id=tenant_id, **args)

    picked = await pick()
    assert [c.vendor.name for c in picked] == ["Nearer", "Near", "Mid"]
    assert picked[0].distance_km < picked[1].distance_km < picked[2].distance_km < 15
    # The wiring asks by kind (requirements.category): "llantas" vendors are auto_parts vendors.
    assert [c.vendor.name for c in await pick(category="auto_parts")] == ["Nearer", "Near", "Mid"]
    assert [c.vendor.name for c in await pick(limit=2)] == ["Nearer", "Near"]
    assert [c.vendor.name for c in await pick(radius_km=1)] == ["Nearer", "Near"]
    assert "Far" in [c.vendor.name for c in await pick(radius_km=600)]
    assert [c.vendor.name for c in await pick(category="BATERIAS")] == ["Batteries"]
    assert await pick(category="refacciones") == []

    # Daily cap: two outreach messages in the last 24 h and a cap of 2 leave the vendor out.
    for _ in range(2):
        request = await new_request(tenant_id)
        async with session_scope() as session:
            await concierge_service.reserve_outreach(session, request, [near], 1)
    assert [c.vendor.name for c in await pick(daily_cap=2)] == ["Nearer", "Mid"]
    assert [c.vendor.name for c in await pick(daily_cap=3)] == ["Nearer", "Near", "Mid"]
    async with session_scope() as session:
        assert await concierge_service.outreach_last_day(session, tenant_id=tenant_id, vendor_id=near.id, now=now) == 2
        # A day later the count has expired.
        later = now + timedelta(hours=25)
        assert (
            await concierge_service.outreach_last_day(session, tenant_id=tenant_id, vendor_id=near.id, now=later) == 0
        )

    # A further batch for a request leaves out the vendors already asked for it.
    request = await new_request(tenant_id)
    async with session_scope() as session:
        await concierge_service.reserve_outreach(session, request, [nearer, mid], 1)
    assert [c.vendor.name for c in await pick(exclude_request_id=request.id)] == ["Near"]


async def test_select_vendors_daily_cap_defaults_to_the_tenant_setting(client: Any) -> None:
    tenant = await make_tenant(client)
    tenant_id = uuid.UUID(tenant.id)
    r = await client.patch(
        f"/v1/tenants/{tenant.slug}", json={"concierge": {"vendor_daily_cap": 1}}, headers=tenant.headers
    )
    assert r.status_code == 200 and r.json()["concierge"]["vendor_daily_cap"] == 1
    vendor = await add_vendor(tenant_id, opening_hours="24h")
    now = datetime.now(UTC)
    async with session_scope() as session:
        picked = await concierge_service.select_vendors(
            session, tenant_id=tenant_id, category="llantas", location=(19.43, -99.13), limit=5, now=now
        )
        assert [c.vendor.id for c in picked] == [vendor.id]
    await_request = await new_request(tenant_id)
    async with session_scope() as session:
        await concierge_service.reserve_outreach(session, await_request, [vendor], 1)
        again = await concierge_service.select_vendors(
            session, tenant_id=tenant_id, category="llantas", location=(19.43, -99.13), limit=5, now=now
        )
    assert again == []


# --- agentctl vendor ------------------------------------------------------------------------------


def test_vendor_cli(cli: Cli, tmp_path: Path) -> None:
    slug = f"cli-{uuid.uuid4().hex[:10]}"
    cli.ok("tenant", "create", slug, "--name", "Vendors CLI")
    out = cli.ok(
        "vendor", "add", slug, "--name", "Llantera CLI", "--number", "+52 1 55 7777 0001",
        "--category", "Llantas", "--category", "rines", "--lat", "19.43", "--lon", "-99.13",
        "--hours", "lun-vie 09:00-19:00", "--call-consent",
    )  # fmt: skip
    assert "whatsapp:+5215577770001" in out
    vendor_id = out.split(":", 1)[0].strip()
    uuid.UUID(vendor_id)
    assert "already exists" in cli.fails(
        "vendor", "add", slug, "--name", "Otra", "--number", "+5215577770001",
        "--category", "llantas", "--lat", "19.43", "--lon", "-99.13",
    )  # fmt: skip
    bad = cli.invoke(
        "vendor", "add", slug, "--name", "Mala", "--number", "+5215577770002",
        "--category", "llantas", "--lat", "19.43", "--lon", "-99.13", "--hours", "a veces",
    )  # fmt: skip
    assert bad.exit_code == 2 and "opening_hours" in bad.output

    good = tmp_path / "vendors.csv"
    good.write_text(VENDORS_CSV, encoding="utf-8")
    assert "3 rows: 3 created, 0 updated, 0 unchanged" in cli.ok("vendor", "import", slug, str(good))
    assert "3 rows: 0 created, 0 updated, 3 unchanged" in cli.ok("vendor", "import", slug, str(good))
    broken = tmp_path / "broken.csv"
    broken.write_text(VENDORS_CSV + "Mala,+525510000009,llantas,95,-99.1,,\n", encoding="utf-8")
    out = cli.fails("vendor", "import", slug, str(broken))
    assert "Row 5, column 'lat'" in out

    listed = cli.ok("vendor", "list", slug)
    assert "Llantera CLI" in listed and "Autopartes Norte" in listed and "Mala" not in listed
    assert "Llantera CLI" in cli.ok("vendor", "list", slug, "--category", "RINES")
    assert "Refaccionaria Sur" not in cli.ok("vendor", "list", slug, "--category", "rines")

    assert "removed" in cli.ok("vendor", "remove", slug, vendor_id)
    assert "Llantera CLI" not in cli.ok("vendor", "list", slug)
    assert "removed" in cli.ok("vendor", "list", slug, "--all")
    assert "not found" in cli.fails("vendor", "remove", slug, str(uuid.uuid4()))

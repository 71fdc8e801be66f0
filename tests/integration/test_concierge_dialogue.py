"""The concierge beside a dealer's stock, through the chat API: a car the stock has goes to the catalog, a
part goes to vendors; a yes with details is a yes that keeps them; the summary is never sent in a loop;
"estoy aquí" is no item."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from app.concierge.models import ConciergeRequest
from app.core.db import session_scope
from tests.helpers import TenantHandle, chat, make_tenant

CARS = """stock_id,make,model,year,price,km,version
C1,Mazda,3,2019,265000,48000,i Sport
C2,Volkswagen,Jetta,2017,199000,81000,Trendline
"""
POLANCO = {"name": "Polanco", "lat": 19.4326, "lon": -99.1942, "aliases": ["polanco"]}


async def _dealer(client: Any) -> TenantHandle:
    return await make_tenant(client, catalog_csv=CARS, flags={"concierge": True}, concierge={"zones": [POLANCO]})


async def _requests(tenant: TenantHandle) -> list[ConciergeRequest]:
    async with session_scope() as session:
        rows = await session.execute(select(ConciergeRequest).where(ConciergeRequest.tenant_id == uuid.UUID(tenant.id)))
        return list(rows.scalars())


async def test_a_car_the_dealer_stocks_goes_to_the_catalog_with_the_concierge_on(client: Any) -> None:
    tenant = await _dealer(client)
    reply = await chat(client, tenant, "busco un Mazda 3")
    assert reply["agent"] == "catalog" and reply["items"] == ["C1"]
    part = await chat(client, tenant, "necesito balatas para un Jetta 2017")
    assert part["agent"] == "concierge"


async def test_a_yes_with_details_is_a_yes_and_the_summary_never_loops(client: Any) -> None:
    tenant = await _dealer(client)
    user = f"u-{uuid.uuid4().hex[:8]}"
    await chat(client, tenant, "necesito balatas para un Jetta 2017 cerca de Polanco", user)
    await chat(client, tenant, "hoy", user)
    summary = await chat(client, tenant, "sin presupuesto", user)
    assert "Responde SÍ" in summary["reply"]
    nudge = await chat(client, tenant, "mmm", user)
    assert nudge["agent"] == "concierge" and nudge["reply"] != summary["reply"]
    go = await chat(client, tenant, "sí, confirmo, las delanteras, hasta 1500", user)
    assert go["agent"] == "concierge" and "proveedores" in go["reply"]
    [request] = await _requests(tenant)
    assert request.status == "vendor_outreach"
    requirements = request.requirements
    assert requirements["budget"]["amount"] in (1500, "1500", 1500.0)
    assert "delanteras" in requirements["items"][0]["name"]


async def test_estoy_aqui_is_not_an_item(client: Any) -> None:
    tenant = await _dealer(client)
    user = f"u-{uuid.uuid4().hex[:8]}"
    await chat(client, tenant, "necesito una llanta de refacción", user)
    here = await chat(client, tenant, "estoy aquí", user)
    assert "aquí" not in here["reply"]
    [request] = await _requests(tenant)
    assert [i["name"] for i in request.requirements["items"]] == ["llanta de refacción"]

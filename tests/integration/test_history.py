"""Chat history: LangChain's SQLChatMessageHistory on our table, one pair per turn, bounded window."""

from __future__ import annotations

import uuid
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from sqlalchemy import func, select

from app.conversations.history import WindowedChatHistory, session_key
from app.conversations.models import ChatHistoryMessage
from app.core.db import get_engine, session_scope
from tests.helpers import make_tenant

CARS = "stock_id,make,model,year,price\nB1,Kia,Rio,2020,210000\nB2,Kia,Forte,2021,290000\n"


async def test_each_turn_appends_one_exchange_keyed_by_tenant_and_customer(client: Any) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS)
    user = f"+52155{uuid.uuid4().int % 10**8:08d}"
    for text in ("hola", "¿tienen Kia?", "gracias"):
        r = await client.post(
            f"/v1/tenants/{tenant.slug}/chat", json={"user": user, "text": text}, headers=tenant.headers
        )
        assert r.status_code == 200

    history = WindowedChatHistory(engine=get_engine(), tenant_id=uuid.UUID(tenant.id), customer=user, window=50)
    messages = await history.aget_messages()
    assert [type(m) for m in messages] == [HumanMessage, AIMessage] * 3
    assert [m.content for m in messages[::2]] == ["hola", "¿tienen Kia?", "gracias"]
    assert "Kia Rio" in str(messages[3].content)

    async with session_scope() as session:
        tenants = (
            (
                await session.execute(
                    select(ChatHistoryMessage.tenant_id)
                    .where(ChatHistoryMessage.session_id == session_key(uuid.UUID(tenant.id), user))
                    .distinct()
                )
            )
            .scalars()
            .all()
        )
    assert tenants == [uuid.UUID(tenant.id)]


async def test_history_reads_a_bounded_window_oldest_first(client: Any) -> None:
    tenant = await make_tenant(client)
    user = f"+52155{uuid.uuid4().int % 10**8:08d}"
    history = WindowedChatHistory(engine=get_engine(), tenant_id=uuid.UUID(tenant.id), customer=user, window=4)
    await history.aadd_messages([HumanMessage(f"m{i}") for i in range(10)])
    assert [m.content for m in await history.aget_messages()] == ["m6", "m7", "m8", "m9"]
    async with session_scope() as session:
        stored = (
            await session.execute(
                select(func.count()).where(ChatHistoryMessage.session_id == session_key(uuid.UUID(tenant.id), user))
            )
        ).scalar_one()
    assert stored == 10  # the window bounds what is read, nothing is lost

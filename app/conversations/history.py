"""Chat history in LangChain's SQLChatMessageHistory on our own table, with a bounded read window.

The only module importing langchain-community (its import prints a sunset notice).
"""

from __future__ import annotations

import uuid
import warnings
from typing import Any

from langchain_core.messages import BaseMessage, message_to_dict, messages_from_dict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.conversations.models import ChatHistoryMessage

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from langchain_community.chat_message_histories.sql import (
        BaseMessageConverter,
        SQLChatMessageHistory,
    )


def session_key(tenant_id: uuid.UUID, customer: str) -> str:
    """History key: one per tenant and customer, whichever channel they write from."""
    return f"{tenant_id}:{customer}"


class _TenantMessageConverter(BaseMessageConverter):
    """Stores messages as JSON with the tenant id taken from the session key."""

    def from_sql_model(self, sql_message: Any) -> BaseMessage:
        return messages_from_dict([sql_message.message])[0]

    def to_sql_model(self, message: BaseMessage, session_id: str) -> Any:
        tenant_id = uuid.UUID(session_id.split(":", 1)[0])
        return ChatHistoryMessage(tenant_id=tenant_id, session_id=session_id, message=message_to_dict(message))

    def get_sql_model_class(self) -> Any:
        return ChatHistoryMessage


def history_rows(tenant_id: uuid.UUID, customer: str, messages: list[BaseMessage]) -> list[ChatHistoryMessage]:
    """Rows for ``messages`` exactly as SQLChatMessageHistory would write them.

    The turn adds them in its own transaction, so a turn and its history commit together (no
    second write after a crash, no turn without its history).
    """
    converter = _TenantMessageConverter()
    key = session_key(tenant_id, customer)
    return [converter.to_sql_model(m, key) for m in messages]


class WindowedChatHistory(SQLChatMessageHistory):
    """SQLChatMessageHistory reading only the last ``window`` messages; the table is owned by alembic."""

    def __init__(self, *, engine: AsyncEngine, tenant_id: uuid.UUID, customer: str, window: int) -> None:
        super().__init__(
            session_id=session_key(tenant_id, customer),
            connection=engine,
            custom_message_converter=_TenantMessageConverter(),
        )
        self.window = window
        self.tenant_id = tenant_id
        self.customer = customer
        # The schema comes from migrations; never let the library run create_all.
        self._table_created = True

    async def aget_messages(self) -> list[BaseMessage]:
        """The last ``window`` messages, oldest first."""
        async with self._make_async_session() as session:
            return await recent_messages(session, tenant_id=self.tenant_id, customer=self.customer, limit=self.window)


async def recent_messages(
    session: AsyncSession, *, tenant_id: uuid.UUID, customer: str, limit: int
) -> list[BaseMessage]:
    """The last ``limit`` history messages of a customer, oldest first, read in the caller's session."""
    stmt = (
        select(ChatHistoryMessage.message)
        .where(ChatHistoryMessage.session_id == session_key(tenant_id, customer))
        .order_by(ChatHistoryMessage.id.desc())
        .limit(limit)
    )
    rows = list((await session.execute(stmt)).scalars())
    return messages_from_dict(list(reversed(rows)))

"""outbound sending state

Revision ID: 3c9f1a7d5e20
Revises: 6b3e8d0f2c47
Create Date: 2026-12-03 10:50:00

An outbound part is marked `sending` (no SID yet) before its request leaves for Twilio, so a part a
crashed worker left in flight is found again: the recovery pass's partial index now covers it too.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c9f1a7d5e20"
down_revision: str | None = "6b3e8d0f2c47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = "(direction = 'inbound' AND status = 'received') OR (direction = 'outbound' AND status = 'pending')"
_NEW = (
    "(direction = 'inbound' AND status = 'received') OR (direction = 'outbound' AND "
    "(status = 'pending' OR (status = 'sending' AND provider_sid IS NULL)))"
)


def _index(where: str) -> None:
    op.drop_index("ix_messages_unfinished", table_name="messages")
    op.create_index("ix_messages_unfinished", "messages", ["created_at"], unique=False, postgresql_where=sa.text(where))


def upgrade() -> None:
    _index(_NEW)


def downgrade() -> None:
    _index(_OLD)

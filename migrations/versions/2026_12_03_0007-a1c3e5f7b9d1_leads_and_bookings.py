"""leads and bookings

Revision ID: a1c3e5f7b9d1
Revises: 3c9f1a7d5e20
Create Date: 2026-12-03 12:05:00

leads (visit and test-drive requests) taken by the agent (issue 13)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a1c3e5f7b9d1"
down_revision: str | None = "3c9f1a7d5e20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leads",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "tenant_id", postgresql.UUID(as_uuid=True), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "conversation_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("conversations.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("customer", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("stock_id", sa.String(64), nullable=True),
        sa.Column("car", sa.String(200), nullable=True),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("time_window", sa.String(64), nullable=True),
        sa.Column("branch", sa.String(100), nullable=True),
        sa.Column("name", sa.String(100), nullable=True),
        sa.Column("status", sa.String(16), server_default="new", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_leads_tenant_id_created_at", "leads", ["tenant_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_leads_tenant_id_created_at", table_name="leads")
    op.drop_table("leads")

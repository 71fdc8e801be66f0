"""whatsapp window templates optout

Revision ID: b2d4f6a8c0e2
Revises: a1c3e5f7b9d1
Create Date: 2026-12-03 12:05:00

24-hour window, templates, customer opt-out, rich messages (issue 14)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "b2d4f6a8c0e2"
down_revision: str | None = "a1c3e5f7b9d1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("conversations", sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("conversations", sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("messages", sa.Column("blocked_reason", sa.String(32), nullable=True))
    op.add_column("messages", sa.Column("content_sid", sa.String(64), nullable=True))
    # The window of existing conversations runs from their latest inbound WhatsApp message.
    op.execute(
        """
        UPDATE conversations c SET last_inbound_at = m.last
        FROM (SELECT conversation_id, max(created_at) AS last FROM messages
              WHERE direction = 'inbound' AND channel = 'whatsapp' GROUP BY conversation_id) m
        WHERE m.conversation_id = c.id
        """
    )
    op.create_table(
        "message_templates",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "tenant_id", postgresql.UUID(as_uuid=True), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("content_sid", sa.String(64), nullable=False),
        sa.Column("friendly_name", sa.String(200), nullable=False),
        sa.Column("language", sa.String(16), server_default="es", nullable=False),
        sa.Column("purpose", sa.String(32), nullable=True),
        sa.Column("status", sa.String(16), server_default="unsubmitted", nullable=False),
        sa.Column("body", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "variables", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("tenant_id", "content_sid", name="uq_message_templates_tenant_id_content_sid"),
    )
    op.create_index("ix_message_templates_tenant_id", "message_templates", ["tenant_id"])
    op.create_table(
        "rich_contents",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column(
            "tenant_id", postgresql.UUID(as_uuid=True), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("content_sid", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("tenant_id", "content_hash", name="uq_rich_contents_tenant_id_content_hash"),
    )
    op.create_index("ix_rich_contents_tenant_id", "rich_contents", ["tenant_id"])


def downgrade() -> None:
    op.drop_index("ix_rich_contents_tenant_id", table_name="rich_contents")
    op.drop_table("rich_contents")
    op.drop_index("ix_message_templates_tenant_id", table_name="message_templates")
    op.drop_table("message_templates")
    op.drop_column("messages", "content_sid")
    op.drop_column("messages", "blocked_reason")
    op.drop_column("conversations", "opted_out_at")
    op.drop_column("conversations", "last_inbound_at")

"""knowledge synonyms and documents

Revision ID: d4f6b8c0e2a4
Revises: c3e5a7b9d1f3
Create Date: 2026-12-03 12:05:00

Tenant-defined synonym groups for knowledge retrieval (issue 13); the built-in lexicon is code.
Documents need no schema change: the chunker's new cuts apply on the next import, update or
`agentctl knowledge reembed --rechunk`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "d4f6b8c0e2a4"
down_revision: str | None = "c3e5a7b9d1f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "knowledge_synonyms",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("terms", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_knowledge_synonyms_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_synonyms")),
    )
    op.create_index(op.f("ix_knowledge_synonyms_tenant_id"), "knowledge_synonyms", ["tenant_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_knowledge_synonyms_tenant_id"), table_name="knowledge_synonyms")
    op.drop_table("knowledge_synonyms")

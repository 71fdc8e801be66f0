"""Knowledge base entries with a language-aware full-text vector maintained by PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import datetime

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    Boolean,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, TimestampMixin

EMBEDDING_DIMENSIONS = 384

# Weighted title/keywords (A) over content (B); the entry's own language picks the stemmer and
# unaccent folds accents so "garantia" finds "garantía". f_unaccent/f_join are IMMUTABLE wrappers
# created by the first migration (generated columns need immutable expressions).
_TSV_EXPRESSION = (
    "setweight(to_tsvector(CASE WHEN language = 'en' THEN 'english'::regconfig ELSE 'spanish'::regconfig END, "
    "f_unaccent(title || ' ' || f_join(keywords))), 'A') || "
    "setweight(to_tsvector(CASE WHEN language = 'en' THEN 'english'::regconfig ELSE 'spanish'::regconfig END, "
    "f_unaccent(content)), 'B')"
)


class KnowledgeEntry(TimestampMixin, Base):
    """A FAQ, policy or other fact the business wrote down."""

    __tablename__ = "knowledge_entries"
    __table_args__ = (
        Index("ix_knowledge_entries_tsv", "tsv", postgresql_using="gin"),
        Index(
            "ix_knowledge_entries_title_trgm",
            # Opclass inside the expression: SQLAlchemy cannot attach one to an expression element.
            text("f_unaccent(lower(title)) gin_trgm_ops"),
            postgresql_using="gin",
        ),
        Index(
            "ix_knowledge_entries_embedding",
            "embedding",
            postgresql_using="hnsw",
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    type: Mapped[str] = mapped_column(String(32), nullable=False, server_default="faq")
    title: Mapped[str] = mapped_column(Text, nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    category: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8), nullable=False, server_default="es")
    keywords: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default=text("'{}'"))
    priority: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    tsv: Mapped[str] = mapped_column(TSVECTOR, Computed(_TSV_EXPRESSION, persisted=True))
    embedding: Mapped[list[float] | None] = mapped_column(Vector(EMBEDDING_DIMENSIONS))

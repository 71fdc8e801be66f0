"""Knowledge base entries with a language-aware full-text vector maintained by PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import datetime

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    Boolean,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, TimestampMixin

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

_TITLE_TSV_EXPRESSION = (
    "to_tsvector(CASE WHEN language = 'en' THEN 'english'::regconfig ELSE 'spanish'::regconfig END, f_unaccent(title))"
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
    # The title alone: retrieval tells a word in the title from one in the keywords or headings.
    title_tsv: Mapped[str] = mapped_column(TSVECTOR, Computed(_TITLE_TSV_EXPRESSION, persisted=True))


# A chunk's heading path (entry title, then the Markdown headings above it) and the entry's keywords
# weigh A; its text weighs B. Same stemmer choice and accent folding as the entries.
_CHUNK_TSV_EXPRESSION = (
    "setweight(to_tsvector(CASE WHEN language = 'en' THEN 'english'::regconfig ELSE 'spanish'::regconfig END, "
    "f_unaccent(heading || ' ' || f_join(keywords))), 'A') || "
    "setweight(to_tsvector(CASE WHEN language = 'en' THEN 'english'::regconfig ELSE 'spanish'::regconfig END, "
    "f_unaccent(content)), 'B')"
)


class KnowledgeChunk(Base):
    """A retrievable piece of one version of a live, active entry (chunks of other versions are deleted).

    ``embedding_model`` names the provider and model that made ``embedding``: vectors of different models
    are never compared, and ``agentctl knowledge reembed`` replaces the ones the active provider did not make.
    """

    __tablename__ = "knowledge_chunks"
    __table_args__ = (
        UniqueConstraint("entry_id", "ordinal"),
        Index("ix_knowledge_chunks_tsv", "tsv", postgresql_using="gin"),
        Index(
            "ix_knowledge_chunks_embedding",
            "embedding",
            postgresql_using="hnsw",
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
        Index("ix_knowledge_chunks_tenant_model", "tenant_id", "embedding_model"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )
    entry_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("knowledge_entries.id", ondelete="CASCADE"), nullable=False, index=True
    )
    entry_version: Mapped[int] = mapped_column(Integer, nullable=False)
    ordinal: Mapped[int] = mapped_column(Integer, nullable=False)
    heading: Mapped[str] = mapped_column(Text, nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    language: Mapped[str] = mapped_column(String(8), nullable=False)
    keywords: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default=text("'{}'"))
    tsv: Mapped[str] = mapped_column(TSVECTOR, Computed(_CHUNK_TSV_EXPRESSION, persisted=True))
    embedding: Mapped[list[float] | None] = mapped_column(Vector(EMBEDDING_DIMENSIONS))
    embedding_model: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class KnowledgeTerm(Base):
    """A word of a tenant's entry titles, headings and keywords: what a misspelt question word is corrected to.

    Looked up by trigram similarity (pg_trgm's ``%`` on a GIN index), so typo correction reads a handful of
    candidate words however large the knowledge base. Written with the chunks; rebuilt by a rechunk.
    """

    __tablename__ = "knowledge_terms"
    __table_args__ = (Index("ix_knowledge_terms_term_trgm", text("term gin_trgm_ops"), postgresql_using="gin"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    term: Mapped[str] = mapped_column(Text, primary_key=True)


class KnowledgePosting(Base):
    """One lexeme of one chunk with its impact: the inverted index the lexical leg reads, best first.

    A question's words are looked up here, each taking only its highest-impact chunks (an index range
    read in order), so candidates stay few however many chunks share a common word. Impact grows with
    how often the lexeme occurs in the chunk and whether it is in the heading or keywords (weight A),
    and shrinks with the chunk's length. Rows are written with their chunk and deleted with it.
    """

    __tablename__ = "knowledge_postings"
    __table_args__ = (Index("ix_knowledge_postings_lookup", "tenant_id", "lexeme", text("impact DESC"), "chunk_id"),)

    chunk_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("knowledge_chunks.id", ondelete="CASCADE"), primary_key=True
    )
    lexeme: Mapped[str] = mapped_column(Text(collation="C"), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    impact: Mapped[float] = mapped_column(Float, nullable=False)


class KnowledgeSynonym(Base):
    """A tenant's group of equivalent terms ("sede", "sucursal", "agencia"), added to the built-in lexicon.

    Terms are stored folded (lower case, no accents, single spaces), as retrieval compares them.
    """

    __tablename__ = "knowledge_synonyms"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    terms: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

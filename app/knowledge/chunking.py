"""Split an entry into retrievable chunks that respect its Markdown structure, with overlap.

Sections are cut at the entry's own headings first (LangChain's ``MarkdownHeaderTextSplitter``), so a
chunk never straddles two sections and knows the heading path above it; a long section is then cut at
paragraph, line, sentence and word boundaries, in that order of preference, into pieces of at most
``CHUNK_CHARS`` characters that repeat about ``OVERLAP_CHARS`` of the piece before them (LangChain's
``RecursiveCharacterTextSplitter`` with the Markdown separators). A short FAQ stays one chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

from langchain_text_splitters import Language, MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

CHUNK_CHARS = 900
OVERLAP_CHARS = 150
_HEADINGS = [("#", "h1"), ("##", "h2"), ("###", "h3"), ("####", "h4")]


@dataclass(frozen=True, slots=True)
class Chunk:
    """One piece of an entry: its position, the heading path above it and its text."""

    ordinal: int
    heading: str
    content: str


def chunk_entry(
    title: str, content: str, *, chunk_chars: int = CHUNK_CHARS, overlap_chars: int = OVERLAP_CHARS
) -> list[Chunk]:
    """The chunks of one entry, in reading order; headings are "title / section / subsection"."""
    if not 0 <= overlap_chars < chunk_chars:
        raise ValueError("overlap_chars must be at least 0 and smaller than chunk_chars")
    sections = MarkdownHeaderTextSplitter(headers_to_split_on=_HEADINGS, strip_headers=True).split_text(content)
    splitter = RecursiveCharacterTextSplitter.from_language(
        Language.MARKDOWN, chunk_size=chunk_chars, chunk_overlap=overlap_chars
    )
    chunks: list[Chunk] = []
    for section in sections:
        path = [title, *(str(section.metadata[key]) for _, key in _HEADINGS if key in section.metadata)]
        heading = " / ".join(dict.fromkeys(p.strip() for p in path if p.strip()))[:500]
        for piece in splitter.split_text(section.page_content):
            if piece.strip():
                chunks.append(Chunk(ordinal=len(chunks), heading=heading, content=piece.strip()))
    if not chunks:  # headings with no text under them: the entry still answers by its title
        chunks.append(Chunk(ordinal=0, heading=title[:500], content=content.strip() or title))
    return chunks

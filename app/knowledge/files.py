"""Reading knowledge files: JSON lists, CSV (question, answer), Markdown and plain (Word-pasted) text."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from app.core.errors import InvalidInput, unstorable_fields
from app.knowledge import service as knowledge_service
from app.knowledge.schemas import KnowledgeEntryCreate

_entries = TypeAdapter(list[KnowledgeEntryCreate])


def parse_import(body: bytes, content_type: str, *, category: str | None = None) -> list[KnowledgeEntryCreate]:
    """Entries from a JSON list or a Markdown document (split by headings)."""
    if content_type.startswith(("text/markdown", "text/x-markdown", "text/plain")):
        if b"\x00" in body:  # PostgreSQL text cannot hold NUL
            raise InvalidInput("The document contains NUL characters", details={"field": "body"})
        return knowledge_service.parse_markdown(body.decode("utf-8", errors="replace"), category=category)
    try:
        # JSON is UTF-8 (RFC 8259); decoding first turns Latin-1 or binary bodies into a 422, not a 500.
        raw = json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            "Body is not UTF-8 encoded JSON", details={"field": "body", "byte_offset": exc.start}
        ) from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"Body is not valid JSON: {exc.msg}", details={"line": exc.lineno}) from None
    except (ValueError, RecursionError) as exc:  # a number of over 4,300 digits; nesting deeper than Python's stack
        reason = "too deeply nested" if isinstance(exc, RecursionError) else "a number too long to read"
        raise InvalidInput(f"Body is not valid JSON: {reason}", details={"field": "body"}) from None
    if unstorable := unstorable_fields(raw):
        raise InvalidInput("Invalid knowledge entries", details=unstorable)
    try:
        return _entries.validate_python(raw)
    except ValidationError as exc:
        details = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        raise InvalidInput("Invalid knowledge entries", details=details) from None


def read_knowledge_file(path: Path, *, category: str | None = None) -> list[KnowledgeEntryCreate]:
    """Entries from a file, by extension: .json, .csv (question/answer or title/content columns), .md, or .txt
    (a company text pasted from a word processor: split at its title lines like Markdown at its headings)."""
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix in {".md", ".markdown", ".txt"}:
        return knowledge_service.parse_markdown(_utf8(path, data), category=category)
    if suffix == ".csv":
        reader = csv.DictReader(io.StringIO(_utf8(path, data)))
        fields = {f.strip().lower(): f for f in reader.fieldnames or []}
        title_key = fields.get("question") or fields.get("title")
        content_key = fields.get("answer") or fields.get("content")
        if not title_key or not content_key:
            raise InvalidInput(f"{path.name}: CSV needs question,answer (or title,content) columns")
        entries = []
        for row_no, row in enumerate(reader, start=2):
            title, content = (row.get(title_key) or "").strip(), (row.get(content_key) or "").strip()
            if not title or not content:
                raise InvalidInput(
                    f"{path.name}: row {row_no} has an empty question or answer", details={"row": row_no}
                )
            entries.append(
                KnowledgeEntryCreate(
                    title=title, content=content, category=row.get(fields.get("category", "")) or category
                )
            )
        return entries
    return parse_import(data, "application/json", category=category)


def _utf8(path: Path, data: bytes) -> str:
    """The file's text (UTF-8, a byte-order mark allowed), or a 422 naming the file and the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"{path.name} is not UTF-8 text (byte {exc.start}); save it as UTF-8",
            details={"file": path.name, "byte_offset": exc.start},
        ) from None

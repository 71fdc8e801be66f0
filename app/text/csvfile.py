"""Reading an uploaded CSV the same way everywhere: encoding, header, row shapes, and errors naming row and column."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from app.core.errors import InvalidInput
from app.text.normalize import fold

MAX_CELL_CHARS = 131_072
"""The longest cell accepted (the csv module's own default limit, now reported as a 422 naming the cell)."""
# The parser's limit sits far above MAX_CELL_CHARS (bodies are capped by MAX_REQUEST_BYTES anyway), so
# an oversized cell is read and then refused with its row and column instead of a bare csv.Error.
_PARSER_FIELD_LIMIT = 64 * 1024 * 1024


def header_key(name: str) -> str:
    """A column name as a key: "Precio (MXN)" → "precio_mxn", "Año Mod." → "ano_mod"."""
    return re.sub(r"[^a-z0-9]+", "_", fold(name.strip()).replace("ñ", "n")).strip("_")


@dataclass(frozen=True)
class CsvRow:
    """One data row: its line number in the file and its cells by column key (stripped, "" when absent)."""

    line: int
    cells: dict[str, str]

    def error(self, column: str, problem: str) -> InvalidInput:
        """The 422 for a bad value: "Row 5, column 'lat': ..." with the row, column and value in details."""
        return InvalidInput(
            f"Row {self.line}, column '{column}': {problem}",
            details={"row": self.line, "column": column, "value": self.cells.get(column)},
        )


def read_csv(
    data: bytes,
    *,
    required: Sequence[str],
    aliases: Mapping[str, str] | None = None,
    sniff: bool = False,
) -> Iterator[CsvRow]:
    """The non-blank rows of a CSV (UTF-8 with or without BOM, else Latin-1), checked against ``required``.

    Raises InvalidInput for an empty file, missing or duplicate columns, a required cell left empty and a
    row with more cells than the header. ``sniff`` also accepts ``;`` and tab as separators.
    """
    try:
        textual = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        textual = data.decode("latin-1")
    dialect: type[csv.Dialect] | csv.Dialect = csv.excel
    if sniff:
        try:
            dialect = csv.Sniffer().sniff(textual[:4096], delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
    csv.field_size_limit(_PARSER_FIELD_LIMIT)  # process-wide, but the same value on every call
    reader = _rows(csv.reader(io.StringIO(textual), dialect))
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInput("The CSV file is empty", details={"row": 1, "column": None}) from None
    _check_cells(1, header, [f"column {i + 1}" for i in range(len(header))])
    plain = [header_key(h) for h in header]
    # An alias renames a column only when the file does not also have the column it renames to.
    keys = [k if (target := (aliases or {}).get(k)) is None or target in plain else target for k in plain]
    missing = [c for c in required if c not in keys]
    if missing:
        raise InvalidInput(
            f"Missing required column(s): {', '.join(missing)}",
            details={"row": 1, "column": missing[0], "required": list(required), "found": keys},
        )
    duplicates = {k for k in keys if keys.count(k) > 1 and k}
    if duplicates:
        raise InvalidInput("Duplicate column names", details={"row": 1, "column": sorted(duplicates)[0]})
    for line_no, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(keys):
            raise InvalidInput(
                f"Row {line_no} has {len(cells)} cells but the header has {len(keys)}",
                details={"row": line_no, "column": None},
            )
        _check_cells(line_no, cells, keys)
        padded = [c.strip() for c in cells] + [""] * (len(keys) - len(cells))
        row = CsvRow(line_no, dict(zip(keys, padded, strict=True)))
        for column in required:
            if not row.cells[column]:
                raise row.error(column, "value is required")
        yield row


def _rows(reader: Iterator[list[str]]) -> Iterator[list[str]]:
    """The reader's rows; a malformed file is a 422 naming the line rather than a bare csv.Error."""
    line = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InvalidInput(
                f"Row {line + 1}: the CSV cannot be read ({exc})", details={"row": line + 1, "column": None}
            ) from None
        line += 1
        yield row


def _check_cells(line: int, cells: Sequence[str], columns: Sequence[str]) -> None:
    """Refuse a cell over MAX_CELL_CHARS or holding NUL (PostgreSQL text cannot), naming row and column."""
    for cell, column in zip(cells, columns, strict=False):
        if len(cell) > MAX_CELL_CHARS:
            problem = f"a cell has at most {MAX_CELL_CHARS:,} characters ({len(cell):,} given)"
        elif "\x00" in cell:
            problem = "must not contain NUL characters"
        else:
            continue
        raise InvalidInput(
            f"Row {line}, column '{column}': {problem}", details={"row": line, "column": column, "length": len(cell)}
        )

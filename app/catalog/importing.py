"""A dealer's own CSV read as a catalogue: its column names mapped onto ours, its cells read as written.

Dealers export from their own systems: "Marca", "Año", "Precio (MXN)", "Kilometraje", "$289,900", "45,000 km",
Latin-1 files, ``;`` separators. The core columns are recognised by name in Spanish or English; every other
column is kept as a feature the customer can ask about; an ``image_url`` column (or "Imagen", "Foto"...) is
checked to be an http(s) URL and kept for the channel to send as a photo. A bad cell is a 422 naming the row,
the column and the value; nothing is imported then.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from app.core.errors import InvalidInput
from app.text.csvfile import CsvRow, read_csv
from app.text.money import read_number
from app.text.normalize import fold

REQUIRED = ("make", "model", "year", "price")
CORE = ("stock_id", "make", "model", "year", "price", "km", "version", "image_url")
MAX_ROWS = 100_000
IMAGE_COLUMN = "image_url"

# Canonical column -> header keys (``header_key``: folded, "_" between words) that name it, most usual first.
COLUMN_NAMES: Mapping[str, tuple[str, ...]] = {
    "stock_id": (
        "stock_id", "id", "stock", "stock_no", "stock_number", "no_stock", "num_stock", "numero_de_stock",
        "numero_stock", "clave", "sku", "folio", "codigo", "code", "id_auto", "id_vehiculo", "inventario",
        "no_inventario", "numero_inventario", "unidad_id", "ref", "referencia",
    ),
    "make": ("make", "marca", "brand", "fabricante", "manufacturer", "armadora"),
    "model": ("model", "modelo", "submarca", "linea", "model_name", "nombre_modelo", "vehiculo"),
    "year": (
        "year", "ano", "anio", "ano_modelo", "anio_modelo", "modelo_ano", "modelo_anio", "model_year",
        "year_model", "ano_del_modelo", "a_o", "a_o_modelo", "modelo_a_o", "a_o_del_modelo",
    ),
    "price": (
        "price", "precio", "precio_venta", "precio_de_venta", "precio_contado", "precio_publico", "precio_lista",
        "precio_de_lista", "precio_de_contado", "precio_al_publico", "precio_oferta", "precio_especial",
        "sale_price", "list_price", "asking_price", "valor", "importe", "costo", "precio_final",
    ),
    "km": (
        "km", "kms", "kilometraje", "kilometros", "mileage", "odometro", "odometer", "recorrido", "millaje",
        "kilometers", "kilometres",
    ),
    "version": ("version", "trim", "variante", "acabado", "paquete", "submodelo", "sub_modelo"),
    IMAGE_COLUMN: (
        "image_url", "imagen", "image", "foto", "photo", "url_imagen", "imagen_url", "url_foto", "foto_url",
        "photo_url", "picture", "picture_url", "img", "img_url", "image_link", "link_imagen", "fotografia",
    ),
}  # fmt: skip
# Words that name a core column inside a longer header ("Precio de lista contado", "Año del vehículo",
# "Kilometraje actual"): the last resort, after every exact name, suffix and abbreviation.
_ROOT_WORDS: Mapping[str, frozenset[str]] = {
    "stock_id": frozenset({"stock", "clave", "sku", "folio", "inventario"}),
    "make": frozenset({"marca", "make", "brand"}),
    "model": frozenset({"submarca", "linea", "model", "modelo"}),
    "year": frozenset({"ano", "anio", "year"}),
    "price": frozenset({"precio", "price"}),
    "km": frozenset({"km", "kms", "kilometraje", "kilometros", "odometro", "odometer", "mileage", "millaje"}),
    "version": frozenset({"version", "trim"}),
    IMAGE_COLUMN: frozenset({"imagen", "foto", "photo", "image"}),
}
# A header with one of these words names some other number ("Precio de compra", "Costo de adquisición",
# "Enganche mínimo", "Año de compra"), never the car's price or year.
_NOT_CORE_WORDS = frozenset(
    {"compra", "adquisicion", "anterior", "original", "minimo", "enganche", "mensualidad", "cost", "purchase",
     "previous", "old", "factura", "toma", "avaluo", "tenencia", "verificacion", "registro", "ingreso", "alta"}
)  # fmt: skip
# Header keys that name the column with a unit or currency after it: "precio_mxn", "kilometraje_km".
_SUFFIXES = ("mxn", "usd", "pesos", "km", "kms", "mi", "millas", "url", "link", "principal", "1")
_BLANK = frozenset({"", "-", "--", "n/a", "na", "nd", "n/d", "s/d", "sd", "null", "none", "sin dato", "?"})
_UNIT_JUNK = re.compile(r"\$|mxn|usd|pesos|m\.?n\.?|kms?|kilometros|kilómetros|km\.|mi\b|millas|miles")
_THOUSANDS_WORD = re.compile(r"^(?P<n>[\d.,\s]+)\s*(?:mil|k)$")
_YES = {"si", "sí", "yes", "y", "true", "verdadero"}
_NO = {"no", "n", "false", "falso"}


# Abbreviations dealers' systems print in headers ("Año Mod.", "Precio Vta.", "No. Inv."), as whole words.
_HEADER_ABBREVIATIONS: Mapping[str, str] = {
    "mod": "modelo",
    "vta": "venta",
    "prec": "precio",
    "no": "numero",
    "num": "numero",
    "inv": "inventario",
    "cve": "clave",
    "kilom": "kilometraje",
    "kilometr": "kilometraje",
}


def _rank(key: str, canonical: str) -> int | None:
    """How well ``key`` names ``canonical``: its place among the names (0 = our own name), an abbreviation of
    one ("ano_mod" for "ano_modelo") after those, else None."""
    names = COLUMN_NAMES[canonical]
    if key in names:
        return names.index(key)
    for i, name in enumerate(names):
        if len(name) >= 4 and any(key == f"{name}_{s}" for s in _SUFFIXES):
            return len(names) + i
    for i, name in enumerate(names):
        if _abbreviates(key, name):
            return 2 * len(names) + i
    parts = set(key.split("_"))
    if parts & _ROOT_WORDS[canonical] and not parts & _NOT_CORE_WORDS:
        return 3 * len(names) + len(key)  # "precio_de_lista_contado": the shortest such header first
    return None


def _abbreviates(key: str, name: str) -> bool:
    """ "ano_mod" abbreviates "ano_modelo", "precio_vta" "precio_venta": word by word, each a known abbreviation
    or a prefix of at least three letters."""
    short, full = key.split("_"), name.split("_")
    if len(short) != len(full) or len(full) < 2:
        return False
    for s, f in zip(short, full, strict=True):
        s = _HEADER_ABBREVIATIONS.get(s, s)
        if s != f and not (len(s) >= 3 and f.startswith(s)):
            return False
    return True


def map_columns(keys: Sequence[str], rows: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """Dealer column key -> canonical column, for the columns that are core; the first of two synonyms wins.

    A "Modelo" column holding only years is the model year (Mexican exports say "Modelo 2019"); the model is
    then the "Submarca"/"Línea"/"Versión" column when there is one.
    """
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for canonical in COLUMN_NAMES:
        ranks = [(_rank(key, canonical), i, key) for i, key in enumerate(keys) if key not in mapping]
        ranked = [(rank, i, key) for rank, i, key in ranks if rank is not None]
        if ranked:
            mapping[min(ranked)[2]] = canonical
            taken.add(canonical)
    model_key = next((k for k, c in mapping.items() if c == "model"), None)
    years_only = model_key is not None and all(_looks_like_year(r.get(model_key, "")) for r in rows[:50])
    if model_key is not None and "year" not in taken and rows and years_only:
        mapping[model_key] = "year"
        taken.discard("model")
        taken.add("year")
        spare = next((k for k in keys if k not in mapping and k in ("submarca", "linea", "sub_modelo")), None)
        if spare is None:
            spare = next((k for k, c in mapping.items() if c == "version"), None)
        if spare is not None:
            mapping[spare] = "model"
            taken.add("model")
    return mapping


def _looks_like_year(cell: str) -> bool:
    return bool(re.fullmatch(r"(19|20)\d\d(\.0)?", cell.strip()))


def _blank(cell: str) -> bool:
    return fold(cell).strip() in _BLANK


def read_amount(cell: str) -> Decimal | None:
    """ "$289,900", "289.900", "MXN 289 900", "289 mil", "45,000 km" -> the number; None when unreadable."""
    text = _UNIT_JUNK.sub(" ", fold(cell)).strip()
    scale = Decimal(1)
    m = _THOUSANDS_WORD.fullmatch(text)
    if m is not None:
        text, scale = m["n"].strip(), Decimal(1000)
    text = re.sub(r"\s+", " ", text)
    if not re.fullmatch(r"\d[\d.,\s]*", text):
        return None
    value = read_number(text)  # "289 900" too: read_number joins space-grouped thousands
    return None if value is None else value * scale


def _image_url(cell: str) -> str | None:
    """An http(s) URL, else None (a non-URL value is reported by the caller)."""
    value = cell.strip()
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or re.search(r"\s", value):
        return None
    return value


def _attribute(raw: str) -> Any:
    value = raw.strip()
    if value == "":
        return None
    folded = fold(value)
    if folded in _YES:
        return True
    if folded in _NO:
        return False
    return value


MAX_PRICE = Decimal("1e12")  # the price column's numeric(14, 2)
MAX_KM = 10_000_000  # an odometer's range, well inside the km column's integer


def _row(row: CsvRow, mapping: Mapping[str, str], number: int) -> dict[str, Any]:
    """One car from one row, every cell checked; raises InvalidInput naming the row, column and value."""
    core = {canonical: row.cells.get(key, "") for key, canonical in mapping.items()}
    column_of = {canonical: key for key, canonical in mapping.items()}

    def fail(canonical: str, problem: str) -> InvalidInput:
        key = column_of.get(canonical, canonical)
        value = row.cells.get(key)
        shown = f" ({value!r})" if value else ""
        return InvalidInput(
            f"Row {row.line}, column '{key}'{shown}: {problem}",
            details={"row": row.line, "column": key, "field": canonical, "value": value},
        )

    for canonical in REQUIRED:
        if _blank(core.get(canonical, "")):
            raise fail(canonical, "value is required")
    year_value = read_amount(core["year"])
    if year_value is None or year_value != year_value.to_integral_value():
        raise fail("year", "not a year (a whole number such as 2019)")
    year = int(year_value)
    if not 1900 <= year <= 2100:
        raise fail("year", "must be between 1900 and 2100")
    price = read_amount(core["price"])
    if price is None:
        raise fail("price", "not a price (e.g. 289900 or $289,900)")
    # The range before rounding: a price of 28 digits or more has no room for cents in Decimal's precision.
    if not Decimal(0) < price < MAX_PRICE:
        raise fail("price", "must be positive and under 1,000,000,000,000")
    price = price.quantize(Decimal("0.01"))
    km: int | None = None
    if not _blank(core.get("km", "")):
        amount = read_amount(core["km"])
        if amount is None:
            raise fail("km", "not a mileage (e.g. 45000 or 45,000 km)")
        if amount < 0:
            raise fail("km", "cannot be negative")
        if amount >= MAX_KM:
            raise fail("km", "must be under 10,000,000")
        km = int(amount)
    image: str | None = None
    if not _blank(core.get(IMAGE_COLUMN, "")):
        image = _image_url(core[IMAGE_COLUMN])
        if image is None:
            raise fail(IMAGE_COLUMN, "must be an http:// or https:// URL")
    stock_id = core.get("stock_id", "").strip()[:64] or f"{number:04d}"
    attributes = {k: _attribute(v) for k, v in row.cells.items() if k and k not in mapping}
    if image is not None:
        attributes[IMAGE_COLUMN] = image
    return {
        "stock_id": stock_id,
        "make": core["make"].strip(),
        "model": core["model"].strip(),
        "year": year,
        "price": price,
        "km": km,
        "version": None if _blank(core.get("version", "")) else core["version"].strip(),
        "attributes": attributes,
    }


def parse_catalog_csv(data: bytes) -> list[dict[str, Any]]:
    """Validate a dealer's CSV into catalogue rows; raises InvalidInput naming the first bad row and column."""
    rows = list(read_csv(data, required=(), sniff=True))
    if not rows:
        raise InvalidInput("The CSV file has a header but no rows", details={"row": 2, "column": None})
    if len(rows) > MAX_ROWS:
        line = rows[MAX_ROWS].line
        raise InvalidInput(f"A catalog holds at most {MAX_ROWS} rows", details={"row": line, "column": None})
    keys = list(rows[0].cells)
    mapping = map_columns(keys, [r.cells for r in rows])
    missing = [c for c in REQUIRED if c not in mapping.values()]
    if missing:
        accepted = {c: list(COLUMN_NAMES[c][:4]) for c in missing}
        raise InvalidInput(
            f"Missing required column(s): {', '.join(missing)} (a column named e.g. "
            + "; ".join(f"{c}: {', '.join(names)}" for c, names in accepted.items())
            + ")",
            details={"row": 1, "column": missing[0], "required": list(REQUIRED), "found": keys},
        )
    out: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        car = _row(row, mapping, number)
        stock_id = car["stock_id"]
        if stock_id in seen:
            column = next((k for k, c in mapping.items() if c == "stock_id"), "stock_id")
            raise InvalidInput(
                f"Row {row.line}, column '{column}' ({stock_id!r}): duplicate of row {seen[stock_id]}",
                details={"row": row.line, "column": column, "value": stock_id},
            )
        seen[stock_id] = row.line
        out.append(car)
    return out

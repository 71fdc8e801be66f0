"""A dealer's status column ("Estatus", "Status", "Disponibilidad"): what is still for sale.

Dealers' systems export every unit they track, sold ones included, with a status column. A sold car is
never offered (it is left out of the searchable stock); a reserved one ("Apartado", "On hold") is shown
marked as reserved, since the customer may still ask for it. The column is recognised by its name and by
its values: most of them must be status words, so an "Estado" column holding Mexican states is no status.
The status is never a search filter: "¿lo tienen disponible?" asks about a car, it does not pick a column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

from app.catalog.keys import name_key, value_key

Availability = Literal["available", "reserved", "sold"]

STATUS_COLUMNS: Final = frozenset(
    {
        "estatus",
        "status",
        "estado",
        "disponibilidad",
        "availability",
        "situacion",
        "stockstatus",
        "estadodeventa",
        "estatusdeventa",
        "statusventa",
        "salestatus",
        "salesstatus",
        "condicion",
    }
)
_WORDS: Final[dict[str, Availability]] = {
    **dict.fromkeys(
        ("vendido", "vendida", "sold", "nodisponible", "unavailable", "baja", "entregado", "delivered", "facturado"),
        "sold",
    ),
    **dict.fromkeys(
        (
            "apartado",
            "apartada",
            "reservado",
            "reservada",
            "reserved",
            "onhold",
            "hold",
            "separado",
            "separada",
            "pending",
            "pendiente",
            "entramite",
        ),
        "reserved",
    ),
    **dict.fromkeys(
        ("disponible", "available", "enventa", "forsale", "enstock", "instock", "activo", "active", "nuevoingreso"),
        "available",
    ),
}
_MIN_SHARE: Final = 0.8  # of a column's non-empty values that must be status words


def status_of(value: Any) -> Availability | None:
    """ "Vendido" → sold, "Apartado" → reserved, "Disponible" → available; None for anything else."""
    if not isinstance(value, str) or not value.strip():
        return None
    return _WORDS.get(value_key(value).replace(" ", ""))


def status_column(rows: Sequence[Mapping[str, Any]]) -> str | None:
    """The attribute holding each car's status, when the rows have one (by its name and its values)."""
    names = {name for row in rows for name in (row.get("attributes") or {})}
    for name in sorted(names, key=str):
        if name_key(str(name)) not in STATUS_COLUMNS:
            continue
        values = [(row.get("attributes") or {}).get(name) for row in rows]
        given = [v for v in values if isinstance(v, str) and v.strip()]
        if given and sum(status_of(v) is not None for v in given) >= _MIN_SHARE * len(given):
            return str(name)
    return None


def reserved(attributes: Mapping[str, Any]) -> bool:
    """Whether a car's attributes (a card's) say it is reserved."""
    return any(name_key(str(k)) in STATUS_COLUMNS and status_of(v) == "reserved" for k, v in attributes.items())

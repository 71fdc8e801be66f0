"""A dealer's stock as a typed pandas frame, and the same frame as plain numpy arrays for searching."""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from app.catalog.availability import status_column, status_of
from app.catalog.derived import derive_columns, expand_codes
from app.catalog.keys import display_value, name_key, text_or_none, value_key
from app.catalog.lexicon import BRANCH_COLUMNS
from app.catalog.schemas import CarCard
from app.text.normalize import words

CORE_COLUMNS: tuple[str, ...] = ("stock_id", "make", "model", "year", "price", "km", "version")
KEY_SUFFIX = "__key"
# ``DataFrame.attrs`` entry: kind -> the column read from the versions (``app.catalog.derived``).
DERIVED_ATTR = "derived_kinds"
# ``DataFrame.attrs`` entry: the dealer's status column (``app.catalog.availability``), never a search filter.
STATUS_ATTR = "status_column"


def _clean_attribute(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _key_categorical(values: pd.Series, key_fn: Any) -> pd.Categorical:
    # Fold each distinct value once instead of once per row.
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    keys = np.array([key_fn(u) for u in uniques] + [""], dtype=object)
    return pd.Categorical(keys[codes])


def attribute_columns(df: pd.DataFrame) -> list[str]:
    """Extra (attribute) columns of a catalog frame, in catalog order."""
    helpers = {"make_key", "model_key"}
    return [
        str(c) for c in df.columns if c not in CORE_COLUMNS and c not in helpers and not str(c).endswith(KEY_SUFFIX)
    ]


def build_catalog_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Typed catalog frame with matching-key helper columns and attributes expanded into columns."""
    stock_ids: list[str] = []
    makes: list[str] = []
    models: list[str] = []
    years: list[int] = []
    prices: list[float] = []
    kms: list[int | None] = []
    versions: list[str | None] = []
    attributes: list[Mapping[str, Any]] = []
    rows = list(rows)
    status = status_column(rows)
    if status is not None:  # sold cars are not stock to offer
        rows = [r for r in rows if status_of((r.get("attributes") or {}).get(status)) != "sold"]
    for row in rows:
        stock_ids.append(str(row["stock_id"]).strip())
        makes.append(str(row["make"]).strip())
        models.append(str(row["model"]).strip())
        years.append(int(row["year"]))
        prices.append(float(row["price"]))
        km = row.get("km")
        kms.append(None if km is None or (isinstance(km, float) and math.isnan(km)) else int(km))
        versions.append(text_or_none(row.get("version")))
        attributes.append(row.get("attributes") or {})

    reserved = {*CORE_COLUMNS, "make_key", "model_key"}
    attr_names: dict[str, str] = {}
    for attrs in attributes:
        for name in attrs:
            if name not in attr_names:
                column = str(name).strip()
                # Attribute names must not shadow the typed core columns or helper columns.
                if column in reserved or column.endswith(KEY_SUFFIX):
                    column = f"attr_{column}"
                attr_names[name] = column

    data: dict[str, Any] = {
        "stock_id": pd.Series(stock_ids, dtype="str"),
        "make": pd.Series(makes, dtype="str"),
        "model": pd.Series(models, dtype="str"),
        "year": pd.Series(years, dtype="int64"),
        "price": pd.Series(prices, dtype="float64"),
        "km": pd.Series(pd.array(kms, dtype="Int64")),
        "version": pd.Series(versions, dtype=object),
    }
    for name, column in attr_names.items():
        values = expand_codes(column, [_clean_attribute(a.get(name)) for a in attributes])
        data[column] = pd.Series(values, dtype=object)
    columns = list(attr_names.values())
    derived: dict[str, str] = {}
    for kind, (column, values) in derive_columns(versions, _values_by_column(data, columns), models).items():
        data[column] = pd.Series(values, dtype=object)
        columns.append(column)
        derived[kind] = column
    df = pd.DataFrame(data)
    df["make_key"] = _key_categorical(df["make"], name_key)
    df["model_key"] = _key_categorical(df["model"], name_key)
    for column in columns:
        df[column + KEY_SUFFIX] = _key_categorical(df[column], value_key)
    df.attrs[DERIVED_ATTR] = derived
    df.attrs[STATUS_ATTR] = attr_names.get(status) if status is not None else None
    columns_of(df)  # the search arrays too, here (off the event loop in load_catalog) rather than on first use
    return df


def _values_by_column(data: Mapping[str, pd.Series], columns: list[str]) -> dict[str, dict[str, str]]:
    """Column -> value key -> display, per distinct value: what ``derive_columns`` checks the dealer records."""
    out: dict[str, dict[str, str]] = {}
    for column in columns:
        distinct = pd.unique(data[column].dropna())
        out[column] = {key: display_value(v) for v in distinct if (key := value_key(v))}
    return out


def derived_kinds(df: pd.DataFrame) -> dict[str, str]:
    """Kind -> column of ``df`` read from the versions rather than recorded by the dealer (``app.catalog.derived``)."""
    found = df.attrs.get(DERIVED_ATTR)
    return dict(found) if isinstance(found, dict) else {}


@dataclass(frozen=True)
class Columns:
    """A catalog frame's columns as plain numpy arrays, made once per frame: searches never touch pandas."""

    n: int
    stock_id: npt.NDArray[np.object_]
    make: npt.NDArray[np.object_]
    model: npt.NDArray[np.object_]
    version: npt.NDArray[np.object_]
    version_words: list[frozenset[str]]  # folded words of each version ("gli", "sport"), for ``version_words``
    year: npt.NDArray[np.int64]
    year_f: npt.NDArray[np.float64]
    price: npt.NDArray[np.float64]
    km: npt.NDArray[np.float64]  # NaN when unknown
    km_filled: npt.NDArray[np.float64]  # +inf when unknown: never within a km limit, last in km order
    make_codes: npt.NDArray[np.int64]
    make_index: dict[str, int]
    model_codes: npt.NDArray[np.int64]
    model_index: dict[str, int]
    attributes: list[str]
    by_key: dict[str, str]
    raw: dict[str, npt.NDArray[np.object_]]
    codes: dict[str, npt.NDArray[np.int64]]
    index: dict[str, dict[str, int]]
    position: dict[str, int]


_COLUMNS: dict[int, tuple[weakref.ref[pd.DataFrame], Columns]] = {}


def _categorical(series: pd.Series) -> tuple[npt.NDArray[np.int64], dict[str, int]]:
    codes: npt.NDArray[np.int64] = np.asarray(series.cat.codes.to_numpy(), dtype=np.int64)
    return codes, {str(c): i for i, c in enumerate(series.cat.categories)}


def columns_of(df: pd.DataFrame) -> Columns:
    """The arrays of ``df`` (cached while the frame lives; catalog frames are not modified after building)."""
    cached = _COLUMNS.get(id(df))
    if cached is not None and cached[0]() is df and cached[1].n == len(df):
        return cached[1]
    km = df["km"].to_numpy(dtype="float64", na_value=np.nan)
    year = df["year"].to_numpy(dtype="int64")
    make_codes, make_index = _categorical(df["make_key"])
    model_codes, model_index = _categorical(df["model_key"])
    attributes = attribute_columns(df)
    codes: dict[str, npt.NDArray[np.int64]] = {}
    index: dict[str, dict[str, int]] = {}
    for column in attributes:
        codes[column], index[column] = _categorical(df[column + KEY_SUFFIX])
    stock_id = df["stock_id"].to_numpy(dtype=object)
    version = df["version"].to_numpy(dtype=object)
    columns = Columns(
        n=len(df),
        stock_id=stock_id,
        make=df["make"].to_numpy(dtype=object),
        model=df["model"].to_numpy(dtype=object),
        version=version,
        version_words=[frozenset(words(str(v or ""))) for v in version],
        year=year,
        year_f=year.astype("float64"),
        price=df["price"].to_numpy(dtype="float64"),
        km=km,
        km_filled=np.nan_to_num(km, nan=np.inf),
        make_codes=make_codes,
        make_index=make_index,
        model_codes=model_codes,
        model_index=model_index,
        attributes=attributes,
        by_key={name_key(c): c for c in attributes},
        raw={c: df[c].to_numpy(dtype=object) for c in attributes},
        codes=codes,
        index=index,
        position={str(sid): i for i, sid in enumerate(stock_id)},
    )
    key = id(df)
    _COLUMNS[key] = (weakref.ref(df), columns)
    weakref.finalize(df, _COLUMNS.pop, key, None)
    return columns


def _py(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def card_at(cols: Columns, position: int) -> CarCard:
    """The car at row ``position`` as a card."""
    km = cols.km[position]
    return CarCard(
        stock_id=str(cols.stock_id[position]),
        make=str(cols.make[position]),
        model=str(cols.model[position]),
        year=int(cols.year[position]),
        price=float(cols.price[position]),
        km=None if math.isnan(km) else int(km),
        version=text_or_none(_py(cols.version[position])),
        attributes={c: _py(cols.raw[c][position]) for c in cols.attributes},
    )


def branch_column(df: pd.DataFrame) -> str | None:
    """The column saying where each car is ("Sucursal", "Plaza", "Ubicación"), when the catalog has one."""
    return next((str(c) for c in df.columns if name_key(str(c)) in BRANCH_COLUMNS), None)


def branch_of(df: pd.DataFrame, stock_id: str) -> str | None:
    """The branch of the car with ``stock_id`` as its row says, or None (no such column, car or value)."""
    column = branch_column(df)
    if column is None or "stock_id" not in df.columns:
        return None
    values = df.loc[df["stock_id"] == stock_id, column]
    where = str(values.iloc[0]).strip() if len(values) else ""
    return where if where and where != "nan" else None


def card_by_id(df: pd.DataFrame, stock_id: str) -> CarCard | None:
    """The card of the car with ``stock_id``, or None when the catalog has no such car."""
    cols = columns_of(df)
    position = cols.position.get(stock_id)
    return None if position is None else card_at(cols, position)

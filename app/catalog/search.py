"""Vectorised catalog search over a dealer's stock: filter, relax what cannot be met, rank, cut."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from rapidfuzz import fuzz, process

from app.catalog.frame import Columns, card_at, columns_of
from app.catalog.keys import name_key, text_or_none, value_key
from app.catalog.schemas import CatalogFilters, CatalogResult, SortOrder
from app.catalog.vocabulary import FUZZY_CUTOFF, CatalogVocabulary, inflections
from app.text.normalize import fold

# Relaxed budgets may exceed the customer's price_max by at most this factor.
PRICE_RELAX_FACTOR = 1.15


def _code_mask(codes: npt.NDArray[np.int64], index: Mapping[str, int], key: str) -> npt.NDArray[np.bool_]:
    """Rows whose categorical key equals ``key``: one integer comparison."""
    code = index.get(key)
    if code is None:
        return np.zeros(codes.shape, dtype=bool)
    return np.asarray(codes == code, dtype=bool)


def _has_words(display: str, words: set[str]) -> bool:
    """Whether every word (in any of its forms) is a word of ``display``: "gris" in "Gris Plata"."""
    value_words = [inflections(v) for v in re.findall(r"[a-z0-9ñ]+", fold(display))]
    return all(any(inflections(w) & forms for forms in value_words) for w in words)


def _feature_mask(
    cols: Columns, column: str, wanted: str, vocabulary: CatalogVocabulary | None
) -> npt.NDArray[np.bool_]:
    """Rows whose ``column`` has the wanted value; a word of a value ("gris") matches every value with it;
    "Blanco | Gris" matches either."""
    if "|" in wanted:
        masks = [_one_value_mask(cols, column, part.strip(), vocabulary) for part in wanted.split("|") if part.strip()]
        return np.logical_or.reduce(masks) if masks else np.ones(cols.n, dtype=bool)
    return _one_value_mask(cols, column, wanted, vocabulary)


def _one_value_mask(
    cols: Columns, column: str, wanted: str, vocabulary: CatalogVocabulary | None
) -> npt.NDArray[np.bool_]:
    wanted_key = value_key(wanted)
    index = cols.index[column]
    words = set(re.findall(r"[a-z0-9ñ]+", fold(wanted)))
    if wanted_key in ("si", "no") or (wanted_key in index and len(words) != 1):
        return _code_mask(cols.codes[column], index, wanted_key)
    # One word ("Rojo") matches "Rojo" and "Rojo Burdeos" alike; the exact value always matches.
    exact = _code_mask(cols.codes[column], index, wanted_key)
    if vocabulary is not None and column in vocabulary.attribute_values:
        displays = vocabulary.attribute_values[column]
    else:
        displays = {value_key(v): str(v) for v in pd.unique(cols.raw[column]) if text_or_none(v)}
    matching = [index[key] for key, display in displays.items() if key in index and _has_words(display, words)]
    return exact | np.isin(cols.codes[column], np.asarray(matching, dtype=np.int64))


def _canonicalise(
    df: pd.DataFrame, cols: Columns, filters: CatalogFilters, vocabulary: CatalogVocabulary | None
) -> CatalogFilters:
    """Map free-form make/model (from an LLM) onto catalog names; cheap when already canonical."""
    make_ok = filters.make is None or name_key(filters.make) in cols.make_index
    model_ok = filters.model is None or name_key(filters.model) in cols.model_index
    if make_ok and model_ok:
        return filters
    vocab = vocabulary or CatalogVocabulary.from_frame(df)
    make = filters.make
    model = filters.model
    if not make_ok and make is not None:
        make = vocab.match_make(make) or make
    if model is not None and not model_ok:
        hit = vocab.match_model(model, make if make is not None and name_key(make) in cols.make_index else None)
        if hit is None and make is not None:
            hit = vocab.match_model(f"{make} {model}")
        if hit is not None:
            make, model = hit
    return filters.model_copy(update={"make": make, "model": model})


@dataclass
class _Masks:
    base: npt.NDArray[np.bool_]
    make: npt.NDArray[np.bool_] | None
    model: npt.NDArray[np.bool_] | None
    year: npt.NDArray[np.bool_] | None
    km: npt.NDArray[np.bool_] | None


def _range_mask(price: npt.NDArray[np.float64], low: float | None, high: float | None) -> npt.NDArray[np.bool_] | None:
    if low is None and high is None:
        return None
    mask = np.ones(price.shape, dtype=bool)
    if low is not None:
        mask &= price >= low
    if high is not None:
        mask &= price <= high
    return mask


def _and(*masks: npt.NDArray[np.bool_] | None) -> npt.NDArray[np.bool_]:
    result: npt.NDArray[np.bool_] | None = None
    for mask in masks:
        if mask is not None:
            result = mask.copy() if result is None else result & mask
    assert result is not None
    return result


def _resolve_column(name: str, by_key: Mapping[str, str]) -> str | None:
    """Attribute column for a loosely spelled name ("Transmisión" -> "transmission")."""
    key = name_key(name)
    if key in by_key:
        return by_key[key]
    hit = process.extractOne(key, list(by_key), scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
    return by_key[hit[0]] if hit is not None else None


def search_catalog(
    df: pd.DataFrame,
    filters: CatalogFilters,
    vocabulary: CatalogVocabulary | None = None,
    *,
    widen_price: bool = True,
    among: Sequence[str] | None = None,
) -> CatalogResult:
    """Filter, rank and cut the catalog; when nothing matches, relax year, km, model, price (+15%), make.

    ``widen_price=False`` keeps the price range a hard limit ("cheaper than these" must not show dearer cars);
    ``among`` limits the search to those stock ids (the cars a customer was just shown).
    """
    cols = columns_of(df)
    filters = _canonicalise(df, cols, filters, vocabulary)
    base = np.ones(cols.n, dtype=bool)
    if among is not None:
        base[:] = False
        base[[cols.position[i] for i in among if i in cols.position]] = True
    if filters.exclude_ids:
        excluded = [cols.position[i] for i in filters.exclude_ids if i in cols.position]
        base[excluded] = False
    if filters.version_words:
        words = {fold(w) for w in filters.version_words}
        base &= np.fromiter((words <= v for v in cols.version_words), dtype=bool, count=cols.n)
    unknown: list[str] = []
    for name, wanted in filters.features.items():
        column = name if name in cols.index else _resolve_column(name, cols.by_key)
        if column is None:
            unknown.append(name)
            continue
        if value_key(wanted):
            base &= _feature_mask(cols, column, wanted, vocabulary)

    masks = _Masks(
        base=base,
        make=_code_mask(cols.make_codes, cols.make_index, name_key(filters.make)) if filters.make else None,
        model=_code_mask(cols.model_codes, cols.model_index, name_key(filters.model)) if filters.model else None,
        year=_range_mask(cols.year_f, filters.year_min, filters.year_max),
        km=(cols.km_filled <= filters.km_max) if filters.km_max is not None else None,
    )

    matched: npt.NDArray[np.bool_] | None = None
    applied = filters
    relaxed: list[str] = []
    for state, names, mask in _relaxation_states(cols, filters, masks, widen_price=widen_price):
        if mask.any():
            matched, applied, relaxed = mask, state, names
            break
    if matched is None:
        return CatalogResult(items=[], total=0, relaxed=[], unknown_features=unknown, applied=filters)

    idx = np.flatnonzero(matched)
    # A filter dropped on the way that every match still meets was not really relaxed.
    relaxed = [name for name in relaxed if not _still_met(cols, filters, name, idx)]
    top = idx[_top_positions(filters, applied.sort, cols, idx, filters.limit)]
    items = [card_at(cols, int(i)) for i in top]
    return CatalogResult(items=items, total=int(idx.size), relaxed=relaxed, unknown_features=unknown, applied=applied)


def _still_met(cols: Columns, f: CatalogFilters, name: str, idx: npt.NDArray[np.intp]) -> bool:
    """Whether all rows ``idx`` satisfy the original filter ``name``."""
    if name == "year_min" and f.year_min is not None:
        return bool((cols.year[idx] >= f.year_min).all())
    if name == "year_max" and f.year_max is not None:
        return bool((cols.year[idx] <= f.year_max).all())
    if name == "km_max" and f.km_max is not None:
        return bool((cols.km_filled[idx] <= f.km_max).all())
    if name == "price_max" and f.price_max is not None:
        return bool((cols.price[idx] <= f.price_max).all())
    if name == "price_min" and f.price_min is not None:
        return bool((cols.price[idx] >= f.price_min).all())
    if name == "make" and f.make is not None:
        return bool(_code_mask(cols.make_codes[idx], cols.make_index, name_key(f.make)).all())
    if name == "model" and f.model is not None:
        return bool(_code_mask(cols.model_codes[idx], cols.model_index, name_key(f.model)).all())
    return False


def _relaxation_states(
    cols: Columns, f: CatalogFilters, m: _Masks, *, widen_price: bool
) -> Iterable[tuple[CatalogFilters, list[str], npt.NDArray[np.bool_]]]:
    """Exact filters first, then: year, km, model (keeping make), price +15%, make."""
    price = cols.price
    exact_price = _range_mask(price, f.price_min, f.price_max)
    yield f, [], _and(m.base, m.make, m.model, m.year, m.km, exact_price)

    update: dict[str, Any] = {}
    names: list[str] = []
    year_mask, km_mask, model_mask, make_mask = m.year, m.km, m.model, m.make
    if m.year is not None:
        update |= {"year_min": None, "year_max": None}
        names += [n for n in ("year_min", "year_max") if getattr(f, n) is not None]
        year_mask = None
        yield f.model_copy(update=update), list(names), _and(m.base, make_mask, model_mask, km_mask, exact_price)
    if m.km is not None:
        update["km_max"] = None
        names.append("km_max")
        km_mask = None
        yield f.model_copy(update=update), list(names), _and(m.base, make_mask, model_mask, exact_price)
    if m.model is not None and f.model is not None:
        update["model"] = None
        names.append("model")
        model_mask = None
        if make_mask is None:
            # A model alone implies its make: offer the same brand before anything else.
            owners = np.flatnonzero(m.model)
            if owners.size:
                update["make"] = str(cols.make[owners[0]])
                make_mask = cols.make_codes == cols.make_codes[owners[0]]
        yield f.model_copy(update=update), list(names), _and(m.base, make_mask, exact_price)
    before_price = (dict(update), list(names))

    price_update: dict[str, Any] = {}
    price_names: list[str] = []
    if widen_price:
        price_update, price_names = _widen_price(f)
    wide_price = _range_mask(price, price_update.get("price_min"), price_update.get("price_max"))
    if price_names:
        yield (
            f.model_copy(update=update | price_update),
            names + price_names,
            _and(m.base, make_mask, year_mask, km_mask, model_mask, wide_price),
        )
    if make_mask is not None:
        update, names = before_price
        update |= {"make": None}
        if f.make is not None:
            names = [*names, "make"]
        yield f.model_copy(update=update), names, _and(m.base, exact_price)
        if price_names:
            yield f.model_copy(update=update | price_update), names + price_names, _and(m.base, wide_price)


def _widen_price(f: CatalogFilters) -> tuple[dict[str, Any], list[str]]:
    update: dict[str, Any] = {"price_min": f.price_min, "price_max": f.price_max}
    names: list[str] = []
    if f.price_max is not None:
        update["price_max"] = round(f.price_max * PRICE_RELAX_FACTOR, 2)
        names.append("price_max")
    if f.price_min is not None:
        update["price_min"] = round(f.price_min / PRICE_RELAX_FACTOR, 2)
        names.append("price_min")
    return update, names


def _top_positions(
    f: CatalogFilters, sort: SortOrder, cols: Columns, idx: npt.NDArray[np.intp], limit: int
) -> npt.NDArray[np.intp]:
    """Positions (into ``idx``) of the best ``limit`` matches: requested sort first, closeness to the request next."""
    year_f, price, km_filled = cols.year_f[idx], cols.price[idx], cols.km_filled[idx]
    gaps: list[npt.NDArray[np.float64]] = []
    if f.year_min is not None or f.year_max is not None:
        low = f.year_min if f.year_min is not None else -np.inf
        high = f.year_max if f.year_max is not None else np.inf
        gaps.append(np.maximum(low - year_f, 0) + np.maximum(year_f - high, 0))
    if f.km_max is not None:
        gaps.append(np.maximum(km_filled - f.km_max, 0))
    if f.price_min is not None or f.price_max is not None:
        low = f.price_min if f.price_min is not None else -np.inf
        high = f.price_max if f.price_max is not None else np.inf
        gaps.append(np.maximum(low - price, 0) + np.maximum(price - high, 0))
    # Gaps are all zero unless a filter was relaxed; skipping them keeps the sort cheap.
    gaps = [g for g in gaps if g.any()]

    keys: list[npt.NDArray[np.float64]]
    if sort == "price_asc":
        keys = [price, -year_f, *gaps]
    elif sort == "price_desc":
        keys = [-price, -year_f, *gaps]
    elif sort == "year_desc":
        keys = [-year_f, price, *gaps]
    elif sort == "year_asc":
        keys = [year_f, price, *gaps]
    elif sort == "km_asc":
        keys = [km_filled, -year_f, price, *gaps]
    else:
        keys = [*gaps, -year_f, price]

    candidates = np.arange(idx.size)
    if idx.size > 4 * limit + 64:
        # Only rows tied with or better than the limit-th on the primary key can make the cut.
        primary = keys[0]
        kth = np.partition(primary, limit - 1)[limit - 1]
        candidates = np.flatnonzero(primary <= kth)
    # np.lexsort treats the last key as the primary one.
    order = np.lexsort(tuple(k[candidates] for k in reversed(keys)))
    return candidates[order[:limit]]

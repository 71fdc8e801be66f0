"""Cars a search on a kind read from the versions leaves out only because their version does not say.

"¿La Lobo es 4x4?" where the Lobo's version is "Lariat Doble Cabina": the catalogue cannot tell, so the answer is
"not recorded for this car", never "no". ``app.catalog.derived`` reads transmission, fuel and traction from the
version when the dealer's CSV has no column for them; a car whose version is silent on the kind asked is neither
a match nor a non-match.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from app.catalog.frame import columns_of
from app.catalog.schemas import CarCard, CatalogFilters, CatalogResult
from app.catalog.search import search_catalog
from app.catalog.vocabulary import CatalogVocabulary


@dataclass(frozen=True)
class Unstated:
    """The kinds asked that some cars' versions do not state, and the cars meeting everything else exactly."""

    kinds: list[str]
    result: CatalogResult


def derived_asked(filters: CatalogFilters, vocabulary: CatalogVocabulary) -> dict[str, str]:
    """Feature column -> kind, for the features of ``filters`` read from the versions (not a dealer's column)."""
    kind_of = {column: kind for kind, column in vocabulary.derived.items()}
    return {column: kind_of[column] for column in filters.features if column in kind_of}


def unstated_kinds(card: CarCard, filters: CatalogFilters, vocabulary: CatalogVocabulary) -> list[str]:
    """Kinds asked in ``filters`` that ``card``'s version does not state ("¿es 4x4?" of a "Lariat Doble Cabina")."""
    return [kind for column, kind in derived_asked(filters, vocabulary).items() if card.attributes.get(column) is None]


def unstated_matches(
    frame: pd.DataFrame,
    filters: CatalogFilters,
    vocabulary: CatalogVocabulary,
    *,
    among: Iterable[str] | None = None,
) -> Unstated | None:
    """The cars that meet every other constraint of ``filters`` exactly and whose version is silent on a kind asked
    (so they may meet it too), or None when there are none or no kind asked is read from the versions.

    Meant for a search that found no exact match: "¿cuánto cuesta la Hilux 2022?" after "diésel" is the Hilux,
    whose fuel the catalogue does not record, rather than "no Hilux is diesel".
    """
    asked = derived_asked(filters, vocabulary)
    if not asked:
        return None
    cols = columns_of(frame)
    silent = np.zeros(cols.n, dtype=bool)
    for column in asked:
        silent |= pd.isna(cols.raw[column])
    ids = [str(i) for i in cols.stock_id[silent]]
    if among is not None:
        allowed = set(among)
        ids = [i for i in ids if i in allowed]
    if not ids:
        return None
    rest = {column: value for column, value in filters.features.items() if column not in asked}
    found = search_catalog(
        frame, filters.model_copy(update={"features": rest}), vocabulary, widen_price=False, among=ids
    )
    if not found.items or found.relaxed:
        return None
    return Unstated(kinds=list(dict.fromkeys(asked.values())), result=found)

"""One home for customer-facing wording: every sentence the offline tier, the concierge and the vendor
messages send, per language, looked up by key.

Each area keeps its sentences in a module of this package (``offline``, ``catalog``, ``finance``,
``concierge``, ``vendor``, ...): a ``TEXTS`` mapping of key → {language → template}. Keys are unique
across areas (a test checks it), templates are ``str.format`` strings filled with facts from domain
functions only, and a tenant may override any of them per language through its persona's ``wording``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from importlib import import_module
from pkgutil import iter_modules
from typing import Any

from app.text.normalize import Language

Texts = dict[str, dict[Language, str]]
Overrides = Mapping[str, Mapping[str, str]]


def areas() -> list[str]:
    """The area modules of this package, by name."""
    return sorted(info.name for info in iter_modules(__path__) if not info.name.startswith("_"))


class WordingError(KeyError):
    """A key that no area defines, or a key two areas define."""


@lru_cache
def all_texts() -> Texts:
    """Every area's templates merged; raises WordingError when two areas define one key."""
    merged: Texts = {}
    for area in areas():
        texts: Texts = import_module(f"{__name__}.{area}").TEXTS
        for key, template in texts.items():
            if key in merged:
                raise WordingError(f"wording key {key!r} is defined twice (again in {area})")
            merged[key] = template
    return merged


def say(key: str, language: Language, *, overrides: Overrides | None = None, **values: Any) -> str:
    """The sentence ``key`` in ``language`` (a tenant's override first), filled with ``values``."""
    override = (overrides or {}).get(key, {}).get(language)
    template = override if override is not None else template_for(key, language)
    return template.format(**values)


def template_for(key: str, language: Language) -> str:
    """The shipped template of ``key`` in ``language``."""
    try:
        return all_texts()[key][language]
    except KeyError:
        raise WordingError(f"no wording for {key!r} in {language!r}") from None

"""Varied wording: a sentence with several phrasings, so a conversation never sends the same reply twice.

A wording key ``k`` may have alternatives ``k~2``, ``k~3``... in the same area module; ``say_varied``
picks the first one the conversation has not sent yet, deterministically. A tenant override of ``k``
always wins. ``reply_hash`` is how a conversation remembers what it already said, to never say it twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from typing import Any

from app.text.normalize import Language, fold
from app.text.wording import Overrides, all_texts, say


def variants(key: str) -> list[str]:
    """``key`` and its alternatives ``key~2``, ``key~3``..., in order."""
    texts = all_texts()
    found = [key]
    n = 2
    while f"{key}~{n}" in texts:
        found.append(f"{key}~{n}")
        n += 1
    return found


def say_varied(
    key: str, language: Language, *, avoid: Collection[str] = (), overrides: Overrides | None = None, **values: Any
) -> str:
    """The first phrasing of ``key`` whose ``reply_hash`` is not in ``avoid`` (what was already said).

    The first time a conversation needs a sentence it reads the same as ever; said again, it is said
    differently. A tenant's override of ``key`` always wins.
    """
    if overrides and language in overrides.get(key, {}):
        return say(key, language, overrides=overrides, **values)
    options = [say(k, language, **values) for k in variants(key)]
    fresh = [o for o in options if reply_hash(o) not in avoid]
    return fresh[0] if fresh else options[len(avoid) % len(options)]


def reply_hash(reply: str) -> str:
    """A short fingerprint of a reply (case, accents and spacing aside)."""
    return hashlib.sha1(" ".join(fold(reply).split()).encode()).hexdigest()[:10]

"""Bounded field types shared by the API schemas: integers that fit their PostgreSQL columns, text without NUL.

A value PostgreSQL cannot store (an int beyond int4/int8, a NUL in text, a term too long for a btree
index) must be refused by validation, naming the field, rather than by the database as a 500.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

INT4_MAX = 2**31 - 1
INT8_MAX = 2**63 - 1


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Int4 = Annotated[int, Field(ge=-(2**31), le=INT4_MAX)]
"""An integer stored in an ``integer`` column."""

Text = Annotated[str, AfterValidator(_no_nul)]
"""Text PostgreSQL can store (no NUL)."""

Keyword = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_no_nul)]
"""A search keyword: short enough for the knowledge terms' index (a btree row is at most ~2.7 kB)."""

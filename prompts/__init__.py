"""Prompt templates: one file each in this folder, plain ``{placeholder}`` templates, one loader.

Every prompt carries a version (a hash of its text) that turns and traces record, so an answer can be
traced back to the exact wording that produced it.
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PROMPTS_DIR = Path(__file__).parent


@dataclass(frozen=True)
class Prompt:
    """A loaded template and its version."""

    name: str
    template: str
    version: str

    @property
    def placeholders(self) -> frozenset[str]:
        """The names the template needs."""
        return frozenset(f for _, f, _, _ in string.Formatter().parse(self.template) if f)

    def render(self, **values: object) -> str:
        """The template filled in; every placeholder must be given and nothing else."""
        missing = self.placeholders - values.keys()
        extra = values.keys() - self.placeholders
        if missing or extra:
            raise ValueError(f"prompt {self.name}: missing {sorted(missing)}, unexpected {sorted(extra)}")
        return self.template.format(**values)


class PromptNotFound(LookupError):
    """No prompt file of that name."""


@lru_cache(maxsize=64)
def load_prompt(name: str) -> Prompt:
    """The prompt ``prompts/<name>.md`` (read once per process)."""
    if not name.replace("_", "").isalnum():
        raise PromptNotFound(name)
    path = PROMPTS_DIR / f"{name}.md"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise PromptNotFound(name) from exc
    return Prompt(name=name, template=text.strip() + "\n", version=hashlib.sha256(text.encode()).hexdigest()[:12])


def combined_version(*prompts: Prompt) -> str:
    """One version for a set of prompts used together in a turn."""
    joined = "|".join(f"{p.name}:{p.version}" for p in sorted(prompts, key=lambda p: p.name))
    return hashlib.sha256(joined.encode()).hexdigest()[:12]

"""The start-up heap, kept out of the garbage collector's full collections.

A process of ours holds a few hundred thousand objects once it has started (FastAPI and its models,
LangChain and LangGraph, the agents and their prompts): about 280,000 in the API. Python's full (oldest
generation) collection walks all of them, ~100–150 ms on the development machine, and it runs whenever the
objects that survived since the last one reach a quarter of that heap: a pause that lands, sooner or later,
in the middle of a burst of webhooks or of a turn. None of those start-up objects ever becomes garbage, so
once the process is ready they are moved to the permanent generation (``gc.freeze``): later full
collections walk only what the process made since. Cycles are still collected.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)


def freeze_startup_heap() -> int:
    """Collect once, then freeze every object alive (call when start-up is over): how many were frozen."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.debug("start-up heap frozen: %d objects", frozen)
    return frozen

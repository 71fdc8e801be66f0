"""Knowledge upkeep on the job queue: embed new and changed chunks with the active provider.

Writes of entries queue a job for their tenant in the same transaction (a row the worker picks up at
once; its queueing lock folds a burst of writes into one job), and a periodic job catches whatever is
left (a provider switched on later, a job that failed). Each batch commits on its own, so a long run
keeps its progress and searches use the new vectors as they land.
"""

from __future__ import annotations

import logging
import uuid

import procrastinate

from app.core.db import session_scope
from app.knowledge import embeddings
from app.knowledge import service as knowledge_service

log = logging.getLogger(__name__)

knowledge_blueprint = procrastinate.Blueprint()
BATCH = 64


async def embed_tenant(tenant_id: uuid.UUID | None) -> int:
    """Embed a tenant's (or, with None, every tenant's) pending chunks, one transaction per batch."""
    embedder = embeddings.get_embedder()
    if embedder is None:
        return 0
    done = 0
    while True:
        async with session_scope() as session:
            batch = await knowledge_service.embed_pending(
                session, embedder=embedder, tenant_id=tenant_id, batch_size=BATCH, max_chunks=BATCH
            )
        done += batch
        if batch < BATCH:
            return done


@knowledge_blueprint.task(name="embed")
async def embed(tenant_id: str) -> None:
    """Embed one tenant's new and changed chunks."""
    done = await embed_tenant(uuid.UUID(tenant_id))
    # Nothing to embed (no provider, or another job got there first) is routine.
    log.log(logging.INFO if done else logging.DEBUG, "embedded %d knowledge chunks of tenant %s", done, tenant_id)


@knowledge_blueprint.periodic(cron="*/10 * * * *", periodic_id="embed-all")
@knowledge_blueprint.task(name="embed_all", queueing_lock="knowledge-embed-all")
async def embed_all(timestamp: int) -> None:
    """Safety net: whatever no write-time job covered (a provider switched on later, a failed job)."""
    done = await embed_tenant(None)
    if done:
        log.info("embedded %d pending knowledge chunks", done)

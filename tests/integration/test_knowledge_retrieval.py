"""Chunks, embeddings and hybrid retrieval on the real PostgreSQL (GIN full-text + pgvector HNSW).

Embeddings come from ``ConceptEmbedder`` (a deterministic stand-in at the model edge) except in the test
of the local model itself, which loads the packaged all-MiniLM-L6-v2 for real.
"""

from __future__ import annotations

import itertools
import json
import math
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from app.core.config import Settings
from app.core.db import session_scope
from app.core.jobrows import DEFAULT_QUEUE
from app.knowledge import embeddings
from app.knowledge import service as knowledge_service
from app.knowledge.models import KnowledgeChunk
from tests.fakes.embedders import ConceptEmbedder
from tests.fakes.openai_server import FakeOpenAIServer
from tests.helpers import ai_tenant, chat, grounded, make_tenant, new_number, requires_local_embeddings
from tests.integration.agentctl import Cli

REFUND = {
    "title": "Devoluciones",
    "content": "Reembolso completo si devuelves el auto en los primeros 7 días o 500 km.",
    "category": "returns",
}
WARRANTY = {"title": "Garantía", "content": "Seis meses de garantía en motor y transmisión.", "category": "warranty"}
HOURS = {"title": "Horario de atención", "content": "Abrimos de lunes a sábado de 9 a 18 h.", "category": "hours"}


async def _chunks(tenant_id: str | uuid.UUID) -> list[KnowledgeChunk]:
    async with session_scope() as session:
        rows = await session.execute(
            select(KnowledgeChunk)
            .where(KnowledgeChunk.tenant_id == uuid.UUID(str(tenant_id)))
            .order_by(KnowledgeChunk.heading, KnowledgeChunk.ordinal)
        )
        return list(rows.scalars())


async def _embed(tenant_id: str, embedder: ConceptEmbedder) -> int:
    async with session_scope() as session:
        return await knowledge_service.embed_pending(session, embedder=embedder, tenant_id=uuid.UUID(tenant_id))


async def _search(tenant_id: str, query: str, embedder: Any, **kwargs: Any) -> list[Any]:
    async with session_scope() as session:
        return await knowledge_service.search_knowledge(
            session, tenant_id=uuid.UUID(tenant_id), query=query, language="es", embedder=embedder, **kwargs
        )


# ----------------------------------------------------------------------------------------------- chunks


async def test_chunks_follow_the_entry_version_and_its_life(client: Any) -> None:
    tenant = await make_tenant(client)
    base = f"/v1/tenants/{tenant.slug}/knowledge"
    entry = (await client.post(base, json=WARRANTY, headers=tenant.headers)).json()
    [chunk] = await _chunks(tenant.id)
    assert (chunk.entry_id, chunk.entry_version, chunk.heading) == (uuid.UUID(entry["id"]), 1, "Garantía")

    await client.patch(f"{base}/{entry['id']}", json={"content": "Doce meses de garantía."}, headers=tenant.headers)
    [chunk] = await _chunks(tenant.id)
    assert chunk.entry_version == 2 and chunk.content == "Doce meses de garantía."

    await client.patch(f"{base}/{entry['id']}", json={"active": False}, headers=tenant.headers)
    assert await _chunks(tenant.id) == []
    assert (await client.get(f"{base}/search", params={"q": "garantía"}, headers=tenant.headers)).json() == []
    await client.patch(f"{base}/{entry['id']}", json={"active": True}, headers=tenant.headers)
    assert [c.entry_version for c in await _chunks(tenant.id)] == [2]

    await client.delete(f"{base}/{entry['id']}", headers=tenant.headers)
    assert await _chunks(tenant.id) == []


async def test_a_long_markdown_document_is_chunked_by_section_with_overlap(client: Any) -> None:
    tenant = await make_tenant(client)
    sentences = " ".join(f"El requisito número {i} es presentar el documento {i} original y copia." for i in range(70))
    sentences += " Extranjeros: pasaporte vigente y forma migratoria."
    document = f"# Crédito\n\nIntroducción breve.\n\n## Requisitos\n\n{sentences}\n\n## Plazos\n\nDe 12 a 72 meses.\n"
    r = await client.post(
        f"/v1/tenants/{tenant.slug}/knowledge/import",
        content=document.encode(),
        headers={**tenant.headers, "content-type": "text/markdown"},
    )
    assert r.status_code == 200, r.text
    chunks = await _chunks(tenant.id)
    requisitos = [c for c in chunks if c.heading.endswith("Requisitos")]
    assert len(requisitos) >= 3 and all(len(c.content) <= 900 for c in requisitos)
    assert [c.ordinal for c in sorted(requisitos, key=lambda c: c.ordinal)] == list(range(len(requisitos)))
    ordered = sorted(requisitos, key=lambda c: c.ordinal)
    for before, after in itertools.pairwise(ordered):
        assert after.content[:40] in before.content  # each piece repeats the end of the one before
    assert not any("Plazos" in c.content or "72 meses" in c.content for c in requisitos)
    hits = (
        await client.get(
            f"/v1/tenants/{tenant.slug}/knowledge/search", params={"q": "¿piden pasaporte?"}, headers=tenant.headers
        )
    ).json()
    assert hits and "pasaporte vigente" in hits[0]["content"] and hits[0]["heading"].endswith("Requisitos")
    assert len(hits[0]["content"]) <= 900  # a document this long answers with its matching chunk, not whole


# ------------------------------------------------------------------------------------------ hybrid search


async def test_the_semantic_leg_finds_a_paraphrase_the_words_miss(client: Any) -> None:
    tenant = await make_tenant(client, knowledge=[REFUND, WARRANTY, HOURS])
    embedder = ConceptEmbedder()
    assert await _embed(tenant.id, embedder) == 3
    question = "¿me regresan el dinero si me arrepiento?"
    assert await _search(tenant.id, question, None) == []  # lexical only: no shared topic word
    [hit, *_] = await _search(tenant.id, question, embedder)
    assert hit.title == "Devoluciones" and hit.similarity is not None and hit.similarity > 0.55
    assert hit.lexical_score is None and hit.score > 0
    both = await _search(tenant.id, "reembolso de devoluciones", embedder)
    assert both[0].title == "Devoluciones" and both[0].lexical_score and both[0].similarity
    assert both[0].score > hit.score  # first in both lists outranks first in one


async def test_nothing_close_means_not_found_even_with_embeddings(client: Any) -> None:
    tenant = await make_tenant(client, knowledge=[REFUND, WARRANTY, HOURS])
    embedder = ConceptEmbedder()
    await _embed(tenant.id, embedder)
    assert await _search(tenant.id, "¿aceptan mascotas en la sucursal?", embedder) == []


async def test_vectors_of_another_model_are_never_compared(client: Any) -> None:
    tenant = await make_tenant(client, knowledge=[REFUND, WARRANTY])
    old, new = ConceptEmbedder("concepts-v1"), ConceptEmbedder("concepts-v2")
    await _embed(tenant.id, old)
    question = "¿me regresan el dinero si me arrepiento?"
    assert await _search(tenant.id, question, new) == []
    async with session_scope() as session:
        assert await knowledge_service.count_unembedded(session, embedder=new, tenant_id=uuid.UUID(tenant.id)) == 2
    assert await _embed(tenant.id, new) == 2  # the reembed replaces, it does not add
    assert {c.embedding_model for c in await _chunks(tenant.id)} == {new.tag}
    assert (await _search(tenant.id, question, new))[0].title == "Devoluciones"
    assert await _embed(tenant.id, new) == 0


async def test_one_tenants_vectors_never_answer_another(client: Any) -> None:
    a = await make_tenant(client, knowledge=[REFUND])
    b = await make_tenant(client, knowledge=[HOURS])
    embedder = ConceptEmbedder()
    await _embed(a.id, embedder)
    await _embed(b.id, embedder)
    assert await _search(b.id, "¿me regresan el dinero si me arrepiento?", embedder) == []
    assert (await _search(a.id, "¿me regresan el dinero si me arrepiento?", embedder))[0].title == "Devoluciones"


async def test_search_api_reports_the_evidence_and_the_close_match(client: Any) -> None:
    tenant = await make_tenant(client, knowledge=[REFUND, WARRANTY, HOURS])
    search = f"/v1/tenants/{tenant.slug}/knowledge/search"
    [best, *_] = (await client.get(search, params={"q": "¿horario de atención?"}, headers=tenant.headers)).json()
    assert best["title"] == "Horario de atención" and best["close_match"] is True and best["exact"] is True
    loose = (await client.get(search, params={"q": "¿a qué hora abren el sábado?"}, headers=tenant.headers)).json()
    assert loose[0]["title"] == "Horario de atención" and loose[0]["close_match"] is False


# ------------------------------------------------------------------------------------------ FAQ fast path


async def test_a_close_faq_match_answers_with_the_curated_text_and_no_llm_call(
    client: Any,
    openai_fake: FakeOpenAIServer,
) -> None:
    openai_fake.set_responder(grounded)
    tenant = await ai_tenant(client)
    reply = await chat(client, tenant, "¿Horario de atención?")
    assert reply["reply"].startswith("Abrimos de lunes a sábado de 9 a 18 h.")
    assert reply["tier"] == "offline" and reply["routing_reason"].endswith("faq_fast_path")
    assert openai_fake.requests == []
    loose = await chat(client, tenant, "oye y si me quedo sin chamba a mitad del crédito qué pasa con la garantía")
    assert loose["tier"] == "llm" and len(openai_fake.requests) == 1


# ------------------------------------------------------------------------------------ upkeep on the queue


async def test_a_write_queues_an_embedding_job_that_the_task_carries_out(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.worker import get_queue

    embedder = ConceptEmbedder()
    monkeypatch.setattr(embeddings, "get_embedder", lambda: embedder)
    tenant = await make_tenant(client, knowledge=[REFUND, WARRANTY])
    async with session_scope() as session:
        rows = (
            await session.execute(
                text("SELECT queue_name, task_name, args FROM procrastinate_jobs WHERE queueing_lock = :lock"),
                {"lock": f"{knowledge_service.LOCK_PREFIX}{tenant.id}"},
            )
        ).all()
    assert [(r.queue_name, r.task_name, r.args) for r in rows] == [
        (DEFAULT_QUEUE, knowledge_service.EMBED_TASK, {"tenant_id": tenant.id})
    ]
    task = get_queue().tasks[knowledge_service.EMBED_TASK]  # the row is what procrastinate would run
    assert task.queue == DEFAULT_QUEUE
    await task.func(tenant_id=tenant.id)
    assert {c.embedding_model for c in await _chunks(tenant.id)} == {embedder.tag}
    assert (await _search(tenant.id, "¿me regresan el dinero?", embedder))[0].title == "Devoluciones"


async def test_no_provider_queues_no_job(client: Any) -> None:
    tenant = await make_tenant(client, knowledge=[REFUND])
    async with session_scope() as session:
        count = (
            await session.execute(
                text("SELECT count(*) FROM procrastinate_jobs WHERE queueing_lock = :lock"),
                {"lock": f"{knowledge_service.LOCK_PREFIX}{tenant.id}"},
            )
        ).scalar_one()
    assert count == 0


def test_reembed_command(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    slug = f"t-{uuid.uuid4().hex[:10]}"
    cli.ok("tenant", "create", slug, "--name", "Autos", "--number", new_number())
    faq = tmp_path / "faq.json"
    faq.write_text(json.dumps([REFUND, WARRANTY], ensure_ascii=False), encoding="utf-8")
    cli.ok("knowledge", "import", slug, str(faq))  # no provider: nothing embedded, nothing said about it

    embedder = ConceptEmbedder("cli-v1")
    monkeypatch.setattr(embeddings, "get_embedder", lambda: embedder)
    out = cli.ok("knowledge", "reembed", slug, "--rechunk")
    assert "rechunked: 2 chunks" in out and "2 chunks to embed" in out and "embedded 2 chunks" in out
    assert "test (cli-v1, 384 dimensions)" in out
    assert "0 chunks to embed" in cli.ok("knowledge", "reembed", slug)
    assert "Devoluciones" in cli.ok("knowledge", "search", slug, "¿me regresan el dinero si me arrepiento?")
    assert cli.invoke("knowledge", "reembed").exit_code == 2
    assert cli.invoke("knowledge", "reembed", slug, "--all").exit_code == 2


# ------------------------------------------------------------------------------------------- providers


def test_provider_selection() -> None:
    assert embeddings.make_embedder(Settings(embeddings_provider="none")) is None
    assert isinstance(embeddings.make_embedder(Settings(embeddings_provider="local")), embeddings.LocalEmbedder)
    with pytest.raises(Exception, match="GOOGLE_API_KEY"):
        embeddings.make_embedder(Settings(embeddings_provider="gemini", google_api_key=None))
    assert embeddings.describe(None).startswith("none")


async def test_openai_embeddings_ask_for_384_dimensions() -> None:
    async with FakeOpenAIServer() as fake:
        embedder = embeddings.make_embedder(
            Settings(embeddings_provider="openai", openai_base_url=fake.base_url, openai_api_key="sk-test")
        )
        assert embedder is not None and embedder.tag == "openai:text-embedding-3-small@384"
        vectors = await embedder.embed_documents(["Garantía de seis meses", "Horario"])
        query = await embedder.embed_query("garantía")
    assert [len(v) for v in [*vectors, query]] == [384, 384, 384]
    assert all(math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-6) for v in vectors)
    bodies = fake.embedding_requests
    assert bodies[0]["dimensions"] == 384 and bodies[0]["model"] == "text-embedding-3-small"
    assert bodies[0]["input"] == ["Garantía de seis meses", "Horario"]


@requires_local_embeddings
async def test_the_packaged_local_model_embeds_offline() -> None:
    embedder = embeddings.LocalEmbedder()
    docs = await embedder.embed_documents(
        ["Every car comes with a six month engine warranty.", "We are open Monday to Saturday, 9 am to 6 pm."]
    )
    query = await embedder.embed_query("does the guarantee cover the engine?")
    assert [len(v) for v in docs] == [384, 384] and embedder.tag == "local:all-MiniLM-L6-v2@384"

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cosine(query, docs[0]) > cosine(query, docs[1]) + 0.2

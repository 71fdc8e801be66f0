"""Corrections become answers and test cases (issue 16): an operator's right answer to a turn's question is a
curated entry that answers that question and a close paraphrase through the chat API, and a regression case
that ``agentctl eval export`` writes to LangSmith (the local recorder) and ``agentctl eval run`` passes."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from app.conversations.models import Turn
from app.core.config import get_settings
from app.core.db import session_scope
from tests.fakes.langsmith_recorder import LangSmithRecorder
from tests.helpers import chat, make_tenant
from tests.integration.agentctl import Cli

KNOWLEDGE = [
    {"title": "Horario de atención", "content": "Abrimos de lunes a sábado de 9 a 18 h.", "category": "hours"},
    {"title": "Garantía", "content": "Todos nuestros autos tienen garantía de 6 meses.", "category": "warranty"},
]
QUESTION = "¿aceptan mascotas en la agencia?"
PARAPHRASE = "¿puedo llevar a mi mascota a la agencia?"
ANSWER = "Sí, las mascotas con correa son bienvenidas en todas nuestras agencias."


async def _last_turn(conversation_id: str) -> int:
    async with session_scope() as session:
        found = await session.scalar(
            select(Turn.id).where(Turn.conversation_id == uuid.UUID(conversation_id)).order_by(Turn.id.desc()).limit(1)
        )
    assert found is not None
    return int(found)


async def test_a_correction_answers_the_question_and_its_paraphrase(client: Any) -> None:
    tenant = await make_tenant(client, knowledge=KNOWLEDGE)
    before = await chat(client, tenant, QUESTION)
    assert ANSWER not in before["reply"]
    turn_id = await _last_turn(before["conversation_id"])

    r = await client.post(
        f"/v1/tenants/{tenant.slug}/corrections", json={"turn_id": turn_id, "answer": ANSWER}, headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["turn_id"] == turn_id and made["question"] == QUESTION and made["knowledge_entry_id"]

    for text in (QUESTION, PARAPHRASE):
        after = await chat(client, tenant, text)
        assert ANSWER in after["reply"], (text, after)
        assert after["agent"] == "info" and after["sources"][0]["id"] == made["knowledge_entry_id"]
    # Other questions keep their answers.
    assert "9 a 18" in (await chat(client, tenant, "¿cuál es su horario de atención?"))["reply"]

    cases = (await client.get(f"/v1/tenants/{tenant.slug}/eval-cases", headers=tenant.headers)).json()
    assert [(c["question"], c["expected"]) for c in cases] == [(QUESTION, ANSWER)]


async def test_bad_corrections_name_the_field(client: Any) -> None:
    tenant = await make_tenant(client)
    other = await make_tenant(client)
    r = await client.post(f"/v1/tenants/{tenant.slug}/corrections", json={"answer": "x"}, headers=tenant.headers)
    assert r.status_code == 422 and "turn_id or question" in r.text
    r = await client.post(f"/v1/tenants/{tenant.slug}/corrections", json={"question": "¿hola?"}, headers=tenant.headers)
    assert r.status_code == 422 and "answer" in r.text
    # Another tenant's turn is not found.
    reply = await chat(client, other, "hola")
    turn_id = await _last_turn(reply["conversation_id"])
    r = await client.post(
        f"/v1/tenants/{tenant.slug}/corrections", json={"turn_id": turn_id, "answer": "x"}, headers=tenant.headers
    )
    assert r.status_code == 404 and "turn_id" in r.text


@pytest.fixture
async def corrected_tenant(client: Any) -> str:
    tenant = await make_tenant(client, knowledge=KNOWLEDGE)
    r = await client.post(
        f"/v1/tenants/{tenant.slug}/corrections",
        json={"question": QUESTION, "answer": ANSWER, "paraphrases": [PARAPHRASE]},
        headers=tenant.headers,
    )
    assert r.status_code == 201, r.text
    return tenant.slug


def test_eval_export_and_run_through_the_cli(corrected_tenant: str, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    slug = corrected_tenant
    with LangSmithRecorder() as recorder:
        monkeypatch.setattr(get_settings(), "langsmith_endpoint", recorder.base_url)
        out = cli.ok("eval", "export", slug, "--name", f"{slug}-regressions")
        assert "2 examples" in out
        [dataset] = recorder.datasets.values()
        assert dataset["name"] == f"{slug}-regressions"
        examples = sorted(dataset["examples"], key=lambda e: e["inputs"]["question"])
        assert [e["inputs"]["question"] for e in examples] == sorted([QUESTION, PARAPHRASE])
        assert all(e["outputs"]["answer"] == ANSWER for e in examples)

    results = json.loads(cli.ok("eval", "run", slug, "--json"))
    assert len(results) == 2 and all(r["passed"] for r in results), results
    assert "2/2 passed" in cli.ok("eval", "run", slug)

    listed = cli.ok("feedback", "correct", slug, "--question", "¿tienen estacionamiento?", "--answer", "Sí, gratuito.")
    assert "estacionamiento" in listed
    assert "3/3 passed" in cli.ok("eval", "run", slug)

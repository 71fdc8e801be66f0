"""Every endpoint of the OpenAPI document, called with inputs generated from it: no answer is a 5xx.

Schemathesis turns each operation's schema into a Hypothesis strategy (valid and invalid inputs);
the cases are drawn first and then sent through the in-process ASGI client, on the test's own event
loop (the app's database engine belongs to it). Bounded to a fixed number of examples per operation
and derandomized, so a run takes well under a minute and finds the same cases every time.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import create_app
from tests.helpers import ADMIN_KEY, PUBLIC_URL, make_tenant

EXAMPLES_PER_OPERATION = 20
# The answer is no 5xx, and its status, content type and body are the ones the document declares.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Platform-wide switches would stop every other test's tenants from answering.
SKIPPED = {("PUT", "/v1/admin/kill-switch")}


def draw_cases(strategy: Any, count: int) -> list[Any]:
    """``count`` cases drawn from ``strategy`` (deterministically, without shrinking or a database)."""
    cases: list[Any] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def collect(data: st.DataObject) -> None:
        cases.append(data.draw(strategy))

    collect()
    return cases


def operation_strategy(operation: Any, slug: str) -> Any:
    """Valid and invalid cases of one operation, half of them on a real tenant (so they get past the 404)."""
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    strategies = [operation.as_strategy(generation_mode=mode) for mode in modes]
    if "{slug}" in operation.path:
        strategies += [operation.as_strategy(generation_mode=m, path_parameters={"slug": slug}) for m in modes]
    return st.one_of(strategies)


async def send(client: Any, case: Any) -> Any:
    """The case as an HTTP request through the ASGI client, with the admin key."""
    kwargs = case.as_transport_kwargs(base_url=PUBLIC_URL, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    prepared = requests.Request(
        method=kwargs["method"],
        url=kwargs["url"],
        headers=kwargs.get("headers"),
        params=kwargs.get("params"),
        data=kwargs.get("data"),
        json=kwargs.get("json"),
        files=kwargs.get("files"),
        cookies=kwargs.get("cookies"),
    ).prepare()
    return await client.request(
        prepared.method, prepared.url, headers=dict(prepared.headers), content=prepared.body or b""
    )


@pytest.fixture(scope="module")
async def app_client(migrated: None) -> AsyncIterator[Any]:
    """The ASGI client, but a crash comes back as the 500 a caller would get (so all of them are listed)."""
    transport = httpx2.ASGITransport(app=create_app(), raise_app_exceptions=False)
    async with httpx2.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
        yield http


async def test_no_endpoint_answers_5xx_to_generated_input(app_client: Any) -> None:
    client = app_client
    tenant = await make_tenant(client)
    document = (await client.get("/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(document)
    started = time.monotonic()
    failures: list[str] = []
    sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        for case in draw_cases(operation_strategy(operation, tenant.slug), EXAMPLES_PER_OPERATION):
            response = await send(client, case)
            sent += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except FailureGroup as exc:  # every failed check of this case
                curl = case.as_curl_command(base_url=PUBLIC_URL)
                failures.append(f"{response.status_code} {curl}: {[str(e) for e in exc.exceptions]}")
    assert not failures, "\n".join(failures[:20])
    assert sent > 100
    assert time.monotonic() - started < 120

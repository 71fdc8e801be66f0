"""Review fixes for the console: NUL bytes and other unstorable input in forms and queries get a 4xx,
never a 500 (PostgreSQL refuses NUL in text), on the login form and on every signed-in form."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from tests.helpers import CONSOLE_PASSWORD, console_browser, console_login, csrf_token, make_operator, make_tenant

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture(scope="module")
def asgi_app(migrated: None) -> Any:
    from app.main import create_app

    return create_app()


@pytest.fixture
async def browser(asgi_app: Any) -> AsyncIterator[httpx2.AsyncClient]:
    async with console_browser(asgi_app) as http:
        yield http


async def test_login_with_nul_is_a_4xx(browser: httpx2.AsyncClient) -> None:
    r = await console_login(browser, "demo\x00", "a\x00@example.com", "x" * 12)
    assert 400 <= r.status_code < 500, r.text


async def test_signed_in_forms_and_queries_with_nul_are_4xx(client: Any, browser: httpx2.AsyncClient) -> None:
    tenant = await make_tenant(client)
    email = await make_operator(client, tenant, role="admin")
    assert (await console_login(browser, tenant.slug, email, CONSOLE_PASSWORD)).status_code == 303
    token = csrf_token((await browser.get("/console/operators")).text)
    r = await browser.get("/console/knowledge", params={"q": "price\x00"})
    assert 400 <= r.status_code < 500, r.text
    conversation = uuid.uuid4()
    for path, data in [
        (f"/console/conversations/{conversation}/notes", {"text": "hi\x00there"}),
        (f"/console/conversations/{conversation}/reply", {"text": "hi\x00there"}),
        ("/console/operators", {"email": "x\x00@example.com", "password": CONSOLE_PASSWORD, "role": "operator"}),
        ("/console/corrections", {"question": "q\x00", "answer": "a"}),
    ]:
        r = await browser.post(path, data={**data, "csrf_token": token})
        assert r.status_code == 422, (path, r.status_code, r.text[:300])


async def test_corrections_api_refuses_nul_and_long_paraphrases(client: Any) -> None:
    tenant = await make_tenant(client)
    url = f"/v1/tenants/{tenant.slug}/corrections"
    for body, field in [
        ({"question": "horario?", "answer": "de 9\x00 a 18"}, "answer"),
        ({"question": "horario?", "answer": "de 9 a 18", "paraphrases": ["a\x00b"]}, "paraphrases"),
        ({"question": "horario?", "answer": "de 9 a 18", "paraphrases": ["x" * 501]}, "paraphrases"),
    ]:
        r = await client.post(url, json=body, headers=tenant.headers)
        assert r.status_code == 422, r.text
        assert field in r.text


async def test_feedback_page_extreme_dates_are_not_500(client: Any, browser: httpx2.AsyncClient) -> None:
    tenant = await make_tenant(client)
    email = await make_operator(client, tenant)
    assert (await console_login(browser, tenant.slug, email, CONSOLE_PASSWORD)).status_code == 303
    for params in ({"from": "0001-01-01", "to": "9999-12-31"}, {"from": "9999-12-31"}, {"to": "0001-01-01"}):
        r = await browser.get("/console/feedback", params=params)
        assert r.status_code < 500, (params, r.text[:300])
    r = await browser.get("/console/analytics", params={"days": 90})
    assert r.status_code == 200


async def test_experiment_form_bad_json_is_422_not_500(client: Any, browser: httpx2.AsyncClient) -> None:
    tenant = await make_tenant(client)
    email = await make_operator(client, tenant, role="admin")
    assert (await console_login(browser, tenant.slug, email, CONSOLE_PASSWORD)).status_code == 303
    token = csrf_token((await browser.get("/console/experiments")).text)
    for variant in ["[" * 9000 + "]" * 9000, '{"persona": {"name": "a\\u0000"}}']:
        r = await browser.post(
            "/console/experiments",
            data={"name": "t", "variant": variant, "split": "0.5", "csrf_token": token},
        )
        assert r.status_code == 422, r.text[:300]
    listed = await client.get(f"/v1/tenants/{tenant.slug}/experiments", headers=tenant.headers)
    assert listed.json() == []

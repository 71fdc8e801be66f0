"""The console's security through HTTP: no page without a session, CSRF on every unsafe request, a new
session id at login (no fixation), argon2 hashes, the login rate limit, admin-only pages, tenant isolation."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from sqlalchemy import select

from app.core.db import session_scope
from app.operators.models import Operator
from tests.fakes.twilio_server import FakeTwilioServer
from tests.helpers import (
    CONSOLE_PASSWORD,
    PUBLIC_URL,
    console_browser,
    console_login,
    csrf_token,
    make_operator,
    make_tenant,
    new_number,
    post_whatsapp,
    settle,
    wait_for_bodies,
)

pytestmark = pytest.mark.usefixtures("worker")

PAGES = [
    "/console/inbox",
    "/console/inbox/waiting",
    "/console/leads",
    "/console/knowledge",
    "/console/catalog",
    "/console/analytics",
    "/console/operators",
    f"/console/conversations/{uuid.uuid4()}",
    f"/console/conversations/{uuid.uuid4()}/history",
]


@pytest.fixture(scope="module")
def asgi_app(migrated: None) -> Any:
    from app.main import create_app

    return create_app()


@pytest.fixture
async def browser(asgi_app: Any) -> AsyncIterator[httpx2.AsyncClient]:
    """A fresh cookie jar per test, like a new browser."""
    async with console_browser(asgi_app) as http:
        yield http


async def test_no_page_without_a_session(browser: httpx2.AsyncClient) -> None:
    for path in PAGES:
        r = await browser.get(path)
        assert (r.status_code, r.headers.get("location")) == (303, "/console/login"), path
        htmx = await browser.get(path, headers={"HX-Request": "true"})
        assert (htmx.status_code, htmx.headers.get("hx-redirect")) == (401, "/console/login"), path
    posted = await browser.post(f"/console/conversations/{uuid.uuid4()}/reply", data={"text": "hola"})
    assert posted.status_code == 303 and posted.headers["location"] == "/console/login"
    # The console is not part of the API's OpenAPI document.
    assert not [p for p in (await browser.get("/openapi.json")).json()["paths"] if p.startswith("/console")]


async def test_login_sets_a_hardened_cookie_and_rotates_the_session(client: Any, browser: httpx2.AsyncClient) -> None:
    tenant = await make_tenant(client)
    email = await make_operator(client, tenant)
    async with session_scope() as session:
        stored = (await session.execute(select(Operator).where(Operator.email == email))).scalar_one()
    assert stored.password_hash.startswith("$argon2id$") and CONSOLE_PASSWORD not in stored.password_hash

    browser.cookies.set("console_session", "planted-by-an-attacker", domain="agent.example.test", path="/console")
    first = await console_login(browser, tenant.slug, email)
    assert first.status_code == 303 and first.headers["location"] == "/console/inbox"
    cookie = first.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" in cookie and "Path=/console" in cookie
    token_a = first.cookies["console_session"]
    assert token_a != "planted-by-an-attacker"
    assert (await browser.get("/console/inbox")).status_code == 200

    # Logging in again from a browser holding a session: a new id, and the old one stops working.
    second = await console_login(browser, tenant.slug, email)
    token_b = second.cookies["console_session"]
    assert token_b != token_a
    async with httpx2.AsyncClient(transport=browser._transport, base_url=PUBLIC_URL) as other:
        other.cookies.set("console_session", token_a, domain="agent.example.test", path="/console")
        assert (await other.get("/console/inbox")).status_code == 303
        other.cookies.set("console_session", token_b, domain="agent.example.test", path="/console")
        assert (await other.get("/console/inbox")).status_code == 200

    # Logging out deletes the session row: the token is worthless afterwards.
    page = await browser.get("/console/inbox")
    out = await browser.post("/console/logout", data={"csrf_token": csrf_token(page.text)})
    assert out.status_code == 303
    async with httpx2.AsyncClient(transport=browser._transport, base_url=PUBLIC_URL) as other:
        other.cookies.set("console_session", token_b, domain="agent.example.test", path="/console")
        assert (await other.get("/console/inbox")).status_code == 303


async def test_login_form_needs_its_csrf_token(client: Any, browser: httpx2.AsyncClient) -> None:
    tenant = await make_tenant(client)
    email = await make_operator(client, tenant)
    await browser.get("/console/login")
    r = await browser.post(
        "/console/login",
        data={"tenant": tenant.slug, "email": email, "password": CONSOLE_PASSWORD, "csrf_token": "forged"},
    )
    assert r.status_code == 403 and "console_session" not in r.cookies


async def test_csrf_required_on_every_unsafe_request(
    client: Any, browser: httpx2.AsyncClient, fake_twilio: FakeTwilioServer
) -> None:
    tenant = await make_tenant(client)
    email = await make_operator(client, tenant)
    customer = new_number()
    await post_whatsapp(client, to=tenant.number, from_=customer, body="quiero hablar con un asesor")
    await wait_for_bodies(fake_twilio, customer, 1)
    await settle(tenant.id)
    conversation_id = (await client.get(f"/v1/tenants/{tenant.slug}/handoffs", headers=tenant.headers)).json()[0][
        "conversation_id"
    ]
    await console_login(browser, tenant.slug, email)
    page = await browser.get(f"/console/conversations/{conversation_id}")
    assert page.status_code == 200
    token = csrf_token(page.text)
    base = f"/console/conversations/{conversation_id}"
    for path, data in [
        (f"{base}/reply", {"text": "hola"}),
        (f"{base}/release", {}),
        (f"{base}/close", {}),
        (f"{base}/assign", {"operator_id": "me"}),
        (f"{base}/notes", {"text": "x"}),
        ("/console/logout", {}),
    ]:
        missing = await browser.post(path, data=data)
        assert missing.status_code == 403 and missing.json()["error"]["code"] == "csrf_failed", path
        wrong = await browser.post(path, data={**data, "csrf_token": ("y" if token[0] == "x" else "x") + token[1:]})
        assert wrong.status_code == 403, path
    assert fake_twilio.count_to(customer) == 1  # nothing was sent
    still = (await client.get(f"/v1/tenants/{tenant.slug}/handoffs", headers=tenant.headers)).json()
    assert [h["conversation_id"] for h in still] == [conversation_id]  # nor released or closed
    # The token in the header (what htmx sends) or in the form works.
    ok = await browser.post(f"{base}/notes", data={"text": "por header"}, headers={"X-CSRF-Token": token})
    assert ok.status_code == 303
    sent = await browser.post(f"{base}/reply", data={"text": "Hola, te atiendo yo", "csrf_token": token})
    assert sent.status_code == 303 and sent.headers["location"].endswith("notice=sent")
    assert (await wait_for_bodies(fake_twilio, customer, 2))[-1] == "Hola, te atiendo yo"
    await settle(tenant.id)


async def test_login_rate_limit(client: Any, browser: httpx2.AsyncClient) -> None:
    tenant = await make_tenant(client)
    email = await make_operator(client, tenant)
    statuses = [(await console_login(browser, tenant.slug, email, "wrong-password")).status_code for _ in range(5)]
    assert statuses == [401] * 5
    limited = await console_login(browser, tenant.slug, email)  # even the right password, once limited
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert "console_session" not in limited.cookies


async def test_operator_sees_only_own_tenant_and_admin_pages_need_admin(
    client: Any, browser: httpx2.AsyncClient, fake_twilio: FakeTwilioServer
) -> None:
    mine, other = await make_tenant(client), await make_tenant(client)
    email = await make_operator(client, mine)
    customer = new_number()
    await post_whatsapp(client, to=other.number, from_=customer, body="quiero hablar con un asesor")
    await wait_for_bodies(fake_twilio, customer, 1)
    await settle(other.id)
    theirs = (await client.get(f"/v1/tenants/{other.slug}/handoffs", headers=other.headers)).json()[0]
    await console_login(browser, mine.slug, email)
    assert (await browser.get(f"/console/conversations/{theirs['conversation_id']}")).status_code == 404
    inbox = await browser.get("/console/inbox")
    assert customer.removeprefix("whatsapp:") not in inbox.text
    searched = await browser.get(f"/console/inbox?q={customer[-8:]}")
    assert "No conversations match" in searched.text and theirs["conversation_id"] not in searched.text
    assert (await browser.get("/console/operators")).status_code == 403
    # An operator of one tenant cannot sign in to another with the same credentials.
    async with httpx2.AsyncClient(transport=browser._transport, base_url=PUBLIC_URL) as fresh:
        assert (await console_login(fresh, other.slug, email)).status_code == 401


async def test_admin_adds_an_operator_in_the_console(client: Any, browser: httpx2.AsyncClient) -> None:
    tenant = await make_tenant(client)
    admin = await make_operator(client, tenant, role="admin")
    await console_login(browser, tenant.slug, admin)
    page = await browser.get("/console/operators")
    assert page.status_code == 200
    added = await browser.post(
        "/console/operators",
        data={
            "email": "nuevo@example.com",
            "password": "another-good-pass",
            "role": "operator",
            "csrf_token": csrf_token(page.text),
        },
    )
    assert added.headers["location"].endswith("notice=operator_added")
    async with httpx2.AsyncClient(transport=browser._transport, base_url=PUBLIC_URL) as fresh:
        assert (await console_login(fresh, tenant.slug, "nuevo@example.com", "another-good-pass")).status_code == 303


async def test_conversation_view_shows_the_bots_facts(
    client: Any, browser: httpx2.AsyncClient, fake_twilio: FakeTwilioServer
) -> None:
    cars = "stock_id,make,model,year,price,km\nA1,Mazda,3,2019,265000,48000\n"
    knowledge = [
        {"title": "Horario de atención", "content": "Abrimos de lunes a sábado de 9 a 18 h.", "category": "hours"}
    ]
    tenant = await make_tenant(client, catalog_csv=cars, knowledge=knowledge)
    email = await make_operator(client, tenant)
    customer = new_number()
    for count, text in enumerate(
        ["¿Cuál es su horario de atención?", "¿cuánto pagaría al mes por el Mazda 3 a 48 meses?"], 1
    ):
        await post_whatsapp(client, to=tenant.number, from_=customer, body=text)
        await wait_for_bodies(fake_twilio, customer, count)
        await settle(tenant.id)
    conversations = (await client.get(f"/v1/tenants/{tenant.slug}/conversations", headers=tenant.headers)).json()
    await console_login(browser, tenant.slug, email)
    page = await browser.get(f"/console/conversations/{conversations[0]['id']}")
    assert page.status_code == 200
    assert "Sources: Horario de atención" in page.text
    assert "Quote:" in page.text and "tier offline" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["x-frame-options"] == "DENY"


async def test_a_disabled_operator_is_signed_out_at_once_and_cannot_sign_in(client: Any, asgi_app: Any) -> None:
    """A person who leaves loses the console at once: disable (API), enable again, or a new password."""
    # Its own client address: the other tests' sign-ins do not use up this one's per-address allowance.
    async with console_browser(asgi_app, address="10.9.8.7") as browser:
        await _disable_enable_and_new_password(client, browser)


async def _disable_enable_and_new_password(client: Any, browser: httpx2.AsyncClient) -> None:
    tenant = await make_tenant(client)
    email = await make_operator(client, tenant)
    assert (await console_login(browser, tenant.slug, email)).status_code == 303
    assert (await browser.get("/console/inbox")).status_code == 200
    listed = (await client.get(f"/v1/tenants/{tenant.slug}/operators", headers=tenant.headers)).json()
    operator_id = next(o["id"] for o in listed if o["email"] == email)
    base = f"/v1/tenants/{tenant.slug}/operators/{operator_id}"

    disabled = await client.post(f"{base}/disable", headers=tenant.headers)
    assert disabled.status_code == 200 and disabled.json()["disabled_at"], disabled.text
    assert (await browser.get("/console/inbox")).headers.get("location") == "/console/login"  # the session ended
    refused = await console_login(browser, tenant.slug, email)
    assert refused.headers.get("location") != "/console/inbox"
    assert (await client.post(f"{base}/disable", headers=tenant.headers)).status_code == 200  # idempotent

    enabled = await client.post(f"{base}/enable", headers=tenant.headers)
    assert enabled.status_code == 200 and enabled.json()["disabled_at"] is None
    assert (await console_login(browser, tenant.slug, email)).headers["location"] == "/console/inbox"

    new_password = "otra-clave-larga-2026"
    r = await client.put(f"{base}/password", json={"password": new_password}, headers=tenant.headers)
    assert r.status_code == 204, r.text
    assert (await browser.get("/console/inbox")).headers.get("location") == "/console/login"
    assert (await console_login(browser, tenant.slug, email)).headers.get("location") != "/console/inbox"
    assert (await console_login(browser, tenant.slug, email, new_password)).headers["location"] == "/console/inbox"
    short = await client.put(f"{base}/password", json={"password": "corta"}, headers=tenant.headers)
    assert short.status_code == 422 and "password" in short.text

    # Another tenant's key, or an id of another tenant's operator: nothing changes.
    other = await make_tenant(client)
    assert (await client.post(f"{base}/disable", headers=other.headers)).status_code == 403
    wrong = f"/v1/tenants/{other.slug}/operators/{operator_id}/disable"
    assert (await client.post(wrong, headers=other.headers)).status_code == 404
    assert (await browser.get("/console/inbox")).status_code == 200


async def test_an_admin_disables_and_enables_an_operator_in_the_console(client: Any, asgi_app: Any) -> None:
    tenant = await make_tenant(client)
    admin, other = await make_operator(client, tenant, role="admin"), await make_operator(client, tenant)
    async with (
        console_browser(asgi_app, address="10.9.8.6") as admin_browser,
        console_browser(asgi_app, address="10.9.8.5") as other_browser,
    ):
        assert (await console_login(admin_browser, tenant.slug, admin)).status_code == 303
        assert (await console_login(other_browser, tenant.slug, other)).status_code == 303
        page = await admin_browser.get("/console/operators")
        token = csrf_token(page.text)
        listed = (await client.get(f"/v1/tenants/{tenant.slug}/operators", headers=tenant.headers)).json()
        ids = {o["email"]: o["id"] for o in listed}
        assert f"/console/operators/{ids[other]}/disable" in page.text
        assert f"/console/operators/{ids[admin]}/disable" not in page.text  # never oneself

        no_token = await admin_browser.post(f"/console/operators/{ids[other]}/disable")
        assert no_token.status_code == 403
        assert (await other_browser.get("/console/inbox")).status_code == 200
        done = await admin_browser.post(f"/console/operators/{ids[other]}/disable", data={"csrf_token": token})
        assert done.headers["location"] == "/console/operators?notice=operator_disabled"
        assert (await other_browser.get("/console/inbox")).headers.get("location") == "/console/login"
        page = await admin_browser.get("/console/operators")
        assert f"/console/operators/{ids[other]}/enable" in page.text
        own = await admin_browser.post(f"/console/operators/{ids[admin]}/disable", data={"csrf_token": token})
        assert own.headers["location"] == "/console/operators?notice=not_yourself"
        assert (await admin_browser.get("/console/inbox")).status_code == 200
        back_on = await admin_browser.post(f"/console/operators/{ids[other]}/enable", data={"csrf_token": token})
        assert back_on.headers["location"] == "/console/operators?notice=operator_enabled"
        assert (await console_login(other_browser, tenant.slug, other)).headers["location"] == "/console/inbox"
        # An operator (not an admin) cannot.
        token_other = csrf_token((await other_browser.get("/console/inbox")).text)
        refused = await other_browser.post(f"/console/operators/{ids[admin]}/disable", data={"csrf_token": token_other})
        assert refused.status_code in (303, 403) and (await admin_browser.get("/console/inbox")).status_code == 200

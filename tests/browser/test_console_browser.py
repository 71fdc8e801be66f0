"""The operator console in a real headless Chromium (Playwright for Python driving the system's `chromium`,
never a downloaded browser), against the API and a worker running as processes, with the fake Twilio.

One journey, as an operator lives it: sign in, watch a handoff arrive in the inbox, open it, reply (the
fake Twilio receives the message), release the conversation to the bot; upload a bad catalog and read the
row error; open the analytics page and find its charts drawn with data; and the other pages. A screenshot
of every page lands in tests/browser/screenshots/ (git-ignored) for review, phone-sized ones included.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.e2e.procs import WEBHOOK_PATH, Stack, free_port, twilio_signature, wait_until, whatsapp_params
from tests.fakes.twilio_server import FakeTwilioServer
from tests.helpers import ADMIN_KEY, TWILIO_SID, TWILIO_TOKEN, new_number

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = Path(__file__).parent / "screenshots"
PASSWORD = "browser-test-password"
CARS = """stock_id,make,model,year,price,km,version,transmission
A1,Mazda,3,2019,265000,48000,i Sport,Automática
A2,Nissan,Versa,2018,189999,61000,Advance,Manual
"""
BAD_CARS = b"stock_id,make,model,year,price\nA1,Mazda,3,2019,265000\nA2,Nissan,Versa,2018,caro\n"


@pytest.fixture(scope="module")
def stack(migrated: None, data_dir: Path) -> Iterator[Stack]:
    """The API and one worker as processes, with a plain-http public URL so the browser keeps the cookie."""
    if CHROMIUM is None:
        pytest.skip("no chromium binary on PATH (apt-get install chromium)")
    from app.core.db import libpq_conninfo

    port = free_port()
    env = {"PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "BURST_WINDOW_SECONDS": "0", "STALLED_JOB_SECONDS": "5"}
    logs = data_dir / "browser-logs" / uuid.uuid4().hex[:8]
    with Stack(log_dir=logs, env=env, port=port, conninfo=libpq_conninfo()) as running:
        running.start(workers=1, timeout=90)
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def _tenant(stack: Stack) -> dict[str, str]:
    """A tenant with a catalog and an admin operator, made through the running API."""
    slug = f"b-{uuid.uuid4().hex[:8]}"
    number = new_number()
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with httpx2.Client(base_url=stack.url, timeout=20) as http:
        created = http.post(
            "/v1/tenants", json={"slug": slug, "name": "Autos Navegador", "whatsapp_numbers": [number]}, headers=admin
        )
        assert created.status_code == 201, created.text
        assert (
            http.post(
                f"/v1/tenants/{slug}/catalog", files={"file": ("c.csv", CARS.encode(), "text/csv")}, headers=admin
            ).status_code
            == 200
        )
        op = http.post(
            f"/v1/tenants/{slug}/operators",
            json={"email": "ana@example.com", "password": PASSWORD, "role": "admin"},
            headers=admin,
        )
        assert op.status_code == 201, op.text
    return {"slug": slug, "number": number}


def _whatsapp(stack: Stack, *, to: str, customer: str, body: str) -> None:
    params = whatsapp_params(sid="SM" + uuid.uuid4().hex, account_sid=TWILIO_SID, from_=customer, to=to, body=body)
    signature = twilio_signature(TWILIO_TOKEN, stack.url + WEBHOOK_PATH, params)
    with httpx2.Client(base_url=stack.url, timeout=20) as http:
        r = http.post(WEBHOOK_PATH, data=params, headers={"X-Twilio-Signature": signature})
    assert r.status_code == 200, r.text


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_operator_journey(stack: Stack, browser: Any, fake_twilio: FakeTwilioServer) -> None:
    tenant = _tenant(stack)
    customer = new_number()
    # Some traffic first, so the analytics have data: a question the bot answers.
    _whatsapp(stack, to=tenant["number"], customer=customer, body="¿Tienen Mazda?")
    wait_until(lambda: fake_twilio.messages_to(customer) or None, timeout=30, what="the bot's reply", stack=stack)

    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{stack.url}/console")
    assert page.url.endswith("/console/login")
    shot(page, "01-login")
    page.fill("input[name=tenant]", tenant["slug"])
    page.fill("input[name=email]", "ana@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login button[type=submit]")
    page.wait_for_url("**/console/inbox")
    assert "Nobody is waiting" in page.inner_text("#waiting")
    shot(page, "02-inbox-empty")

    # A handoff arrives while the inbox is open: the waiting list updates by itself (htmx polling).
    _whatsapp(stack, to=tenant["number"], customer=customer, body="quiero hablar con un asesor")
    wait_until(
        lambda: len(fake_twilio.messages_to(customer)) >= 2 or None, timeout=30, what="the handoff reply", stack=stack
    )
    row = page.locator("#waiting .waiting-row")
    row.first.wait_for(state="visible", timeout=20_000)
    assert customer.removeprefix("whatsapp:") in row.first.inner_text()
    shot(page, "03-inbox-handoff")

    row.first.locator("a").click()
    page.wait_for_url("**/console/conversations/*")
    assert "quiero hablar con un asesor" in page.inner_text(".history")
    shot(page, "04-conversation")
    before = len(fake_twilio.messages_to(customer))
    page.fill("#reply textarea[name=text]", "Hola, soy Ana. Con gusto te ayudo con el Mazda.")
    page.click("#reply button[type=submit]")
    page.wait_for_url("**notice=sent")
    sent = wait_until(
        lambda: fake_twilio.messages_to(customer)[before:] or None,
        timeout=30,
        what="the operator's reply",
        stack=stack,
    )
    assert sent[-1]["body"] == "Hola, soy Ana. Con gusto te ayudo con el Mazda."
    page.locator(".msg.operator").first.wait_for(state="visible")
    assert "ana@example.com" in page.inner_text(".msg.operator")
    shot(page, "05-conversation-replied")

    page.click("#release")
    page.wait_for_url("**notice=released")
    assert page.inner_text("#conv-status") == "bot"
    shot(page, "06-released")
    page.goto(f"{stack.url}/console/inbox")
    assert "Nobody is waiting" in page.inner_text("#waiting")

    page.goto(f"{stack.url}/console/catalog")
    page.set_input_files(
        "#catalog-upload input[type=file]", files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": BAD_CARS}]
    )
    page.click("#catalog-upload button[type=submit]")
    error = page.locator("#catalog-error")
    error.wait_for(state="visible")
    assert "Row 3" in error.inner_text() and "price" in error.inner_text()
    assert "2 items in the catalog" in page.inner_text("main")  # nothing changed
    shot(page, "07-catalog-error")

    page.goto(f"{stack.url}/console/analytics")
    for chart in ("volume", "outcomes", "waits"):
        bars = page.locator(f"#chart-{chart} svg rect.bar")
        heights = [float(bars.nth(i).get_attribute("height") or 0) for i in range(bars.count())]
        assert any(h > 0 for h in heights), chart
    shot(page, "08-analytics")

    for name, path in [
        ("09-leads", "/console/leads"),
        ("10-knowledge", "/console/knowledge"),
        ("11-operators", "/console/operators"),
    ]:
        page.goto(f"{stack.url}{path}")
        assert page.locator("main h1").count() == 1
        shot(page, name)

    # The learning loop: the feedback page, and an experiment started from its form (admin) with its chart.
    page.goto(f"{stack.url}/console/feedback")
    assert page.locator("#feedback-filter").count() == 1 and "Corrections" in page.inner_text("main")
    shot(page, "13-feedback")
    page.goto(f"{stack.url}/console/experiments")
    page.fill("#experiment-start input[name=name]", "formal tone")
    page.fill("#experiment-start textarea[name=variant]", '{"tone": "formal"}')
    page.click("#experiment-start button[type=submit]")
    page.wait_for_url("**notice=started")
    assert page.inner_text("#experiment-status") == "running"
    assert page.locator("#chart-arms svg").count() == 1 and page.locator("#arms tbody tr").count() == 2
    shot(page, "14-experiment")

    # The same console on a phone-sized screen.
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, storage_state=context.storage_state()
    )
    mobile = phone.new_page()
    mobile.goto(f"{stack.url}/console/inbox")
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390 + 1  # no sideways scrolling
    shot(mobile, "12-phone-inbox")
    phone.close()
    context.close()
    time.sleep(0.1)
    assert os.listdir(SHOTS)

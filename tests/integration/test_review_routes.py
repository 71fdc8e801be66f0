"""Every route of the new routers (operators, messaging, learning, experiments, leads, alerts): a tenant key
gets the same 403 on another tenant's slug and on a slug that does not exist (it cannot learn which exist);
without a key, 401; and the tenant's own key on another tenant's conversation or experiment id gets 404."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from app.main import create_app
from tests.helpers import make_tenant

NEW_TAGS = {"operators", "messaging", "learning", "experiments", "leads", "alerts"}


def _routes() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for path, operations in create_app().openapi()["paths"].items():
        for method, operation in operations.items():
            if NEW_TAGS & set(operation.get("tags", [])):
                found.append((method.upper(), path))
    return found


ROUTES = _routes()


def _fill(path: str, slug: str) -> str:
    return re.sub(r"\{[a-z_]+_id\}", str(uuid.uuid4()), path.replace("{slug}", slug))


def test_new_routers_are_found() -> None:
    assert len(ROUTES) >= 15 and all(p.startswith("/v1/tenants/{slug}/") for _, p in ROUTES)


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_other_tenant_and_unknown_slug_look_the_same(client: Any, method: str, path: str) -> None:
    a = await make_tenant(client)
    b = await make_tenant(client)
    body = {} if method in {"POST", "PUT", "PATCH"} else None
    other = await client.request(method, _fill(path, a.slug), json=body, headers=b.headers)
    missing = await client.request(method, _fill(path, f"nope-{uuid.uuid4().hex[:8]}"), json=body, headers=b.headers)
    anonymous = await client.request(method, _fill(path, a.slug), json=body)
    assert other.status_code == missing.status_code == 403, (other.text, missing.text)
    assert other.json() == missing.json()
    assert anonymous.status_code == 401


@pytest.mark.parametrize(("method", "path"), [(m, p) for m, p in ROUTES if "_id}" in p])
async def test_unknown_ids_under_own_tenant_are_404_not_500(client: Any, method: str, path: str) -> None:
    a = await make_tenant(client)
    body: dict[str, Any] | None = None
    if path.endswith("/messages"):
        body = {"text": "hola"}
    elif path.endswith("/notes"):
        body = {"text": "nota"}
    elif path.endswith("/assign"):
        body = {"operator_email": None}
    elif path.endswith("/opt-out") and method == "PUT":
        body = {"opted_out": True}
    elif method in {"POST", "PUT"}:
        body = {}
    r = await client.request(method, _fill(path, a.slug), json=body, headers=a.headers)
    assert r.status_code in {404, 422}, (path, r.status_code, r.text)


async def test_corrections_list_is_paged(client: Any) -> None:
    a = await make_tenant(client)
    url = f"/v1/tenants/{a.slug}/corrections"
    for i in range(2):
        r = await client.post(url, json={"question": f"pregunta {i}?", "answer": "respuesta"}, headers=a.headers)
        assert r.status_code == 201, r.text
    assert len((await client.get(url, params={"limit": 1}, headers=a.headers)).json()) == 1
    assert len((await client.get(url, params={"limit": 1, "offset": 1}, headers=a.headers)).json()) == 1
    assert (await client.get(url, params={"limit": 501}, headers=a.headers)).status_code == 422

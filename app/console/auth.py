"""Console sessions: the cookie, CSRF on every unsafe request, and the login rate limit.

* The session cookie is HttpOnly, SameSite=Strict, path /console, and Secure whenever the public URL is
  https (always in production). Its value is a random token; the database keeps only its digest.
* Login always issues a new token and deletes the one the browser came with: no session fixation.
* Every POST carries the session's CSRF token (a hidden ``csrf_token`` field, or the ``X-CSRF-Token``
  header htmx sends); the login form itself is protected by a double-submit cookie.
* Logins are limited per client address and per account (the ``limits`` library, in process memory).
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Final

from fastapi import Depends, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import get_settings
from app.core.db import session_scope
from app.core.errors import DomainError, InvalidInput
from app.core.ratelimit import Decision, RateLimiter
from app.operators import accounts
from app.operators.desk import Author
from app.tenants.models import Tenant

SESSION_COOKIE: Final = "console_session"
LOGIN_CSRF_COOKIE: Final = "console_login_csrf"
CSRF_HEADER: Final = "X-CSRF-Token"
COOKIE_PATH: Final = "/console"
LOGIN_PER_ADDRESS: Final = "20/minute"
LOGIN_PER_ACCOUNT: Final = "5/minute"


LOGIN_PATH: Final = "/console/login"


class LoginRequired(DomainError):
    """No live session: a page request is redirected to the login form (303); an htmx request gets 401 with
    ``HX-Redirect`` so the whole page goes there."""

    code = "login_required"

    def __init__(self, message: str, *, htmx: bool) -> None:
        super().__init__(message)
        self.status = 401 if htmx else 303
        self.headers = {"HX-Redirect": LOGIN_PATH} if htmx else {"Location": LOGIN_PATH}


class NotAdmin(DomainError):
    """A tenant admin's action tried by an operator."""

    status = 403
    code = "forbidden"


class CsrfFailed(DomainError):
    """An unsafe request without the session's CSRF token."""

    status = 403
    code = "csrf_failed"


@dataclass(frozen=True)
class Console:
    """The signed-in operator, their tenant and the session's CSRF token."""

    operator_id: uuid.UUID
    email: str
    role: str
    tenant_id: uuid.UUID
    tenant_slug: str
    tenant_name: str
    tenant_timezone: str
    csrf_token: str

    @property
    def author(self) -> Author:
        """The identity stored with what this operator writes."""
        return Author(kind="operator", label=self.email, operator_id=self.operator_id)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def cookie_secure() -> bool:
    """Secure cookies whenever the console is served over https (production always is)."""
    settings = get_settings()
    return settings.environment == "production" or settings.public_base_url.startswith("https://")


def set_cookie(response: Response, name: str, value: str, *, max_age: int) -> None:
    """A console cookie: HttpOnly, SameSite=Strict, path /console, Secure over https."""
    response.set_cookie(
        name, value, httponly=True, samesite="strict", secure=cookie_secure(), path=COOKIE_PATH, max_age=max_age
    )


def same_token(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison; a missing token never matches."""
    return bool(given) and bool(expected) and hmac.compare_digest(str(given).encode(), str(expected).encode())


async def _load(request: Request) -> Console | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    async with session_scope() as session:
        found = await accounts.load_session(session, token=token)
        if found is None:
            return None
        row, operator = found
        tenant = await session.get(Tenant, operator.tenant_id)
        if tenant is None:
            return None
        return Console(
            operator_id=operator.id,
            email=operator.email,
            role=operator.role,
            tenant_id=tenant.id,
            tenant_slug=tenant.slug,
            tenant_name=tenant.name,
            tenant_timezone=tenant.timezone,
            csrf_token=row.csrf_token,
        )


async def require_console(request: Request) -> Console:
    """The signed-in operator; unsafe methods must also carry the session's CSRF token."""
    console = await _load(request)
    if console is None:
        raise LoginRequired("Sign in to use the console", htmx=request.headers.get("HX-Request") == "true")
    if request.method not in {"GET", "HEAD", "OPTIONS"}:
        given = request.headers.get(CSRF_HEADER)
        if not given:
            form = await request.form()
            value = form.get("csrf_token")
            given = value if isinstance(value, str) else None
        if not same_token(given, console.csrf_token):
            raise CsrfFailed("Missing or wrong CSRF token; reload the page")
    return console


ConsoleDep = Annotated[Console, Depends(require_console)]


async def reject_nul(request: Request) -> None:
    """422 for a NUL character in any query or form field of a console request: PostgreSQL refuses NUL in
    text, so without this a form or search with one is a 500 (a guard for every route, login included)."""
    fields: list[tuple[str, object]] = list(request.query_params.multi_items())
    if request.method not in {"GET", "HEAD", "OPTIONS"}:
        fields += list((await request.form()).multi_items())
    for name, value in fields:
        if isinstance(value, str) and "\x00" in value:
            raise InvalidInput("must not contain NUL characters", details={"field": name[:64]})


async def require_admin(console: ConsoleDep) -> Console:
    """Tenant admins only (adding operators)."""
    if not console.is_admin:
        raise NotAdmin("Only the tenant's admins can do this")
    return console


AdminConsoleDep = Annotated[Console, Depends(require_admin)]


@lru_cache
def _limiter(rate: str) -> RateLimiter:
    return RateLimiter(rate)


async def login_allowed(*, address: str, slug: str, email: str) -> Decision:
    """Count one login attempt against the client address and the account; refused past either limit."""
    by_address = await _limiter(LOGIN_PER_ADDRESS).hit(f"addr:{address}")
    by_account = await _limiter(LOGIN_PER_ACCOUNT).hit(f"acct:{slug.strip().lower()}:{email.strip().lower()}")
    if not by_address.allowed:
        return by_address
    return by_account


def new_login_csrf() -> str:
    """The login form's double-submit token (cookie and hidden field)."""
    return secrets.token_urlsafe(24)


async def sign_in(
    session: AsyncSession, *, tenant: Tenant | None, email: str, password: str, previous_token: str | None
) -> accounts.NewSession | None:
    """A new session for valid credentials (the browser's previous session is ended), or None. An unknown
    business (``tenant`` None) costs the same password check, so timing does not tell which part was wrong."""
    tenant_id = tenant.id if tenant is not None else uuid.uuid4()
    operator = await accounts.authenticate(session, tenant_id=tenant_id, email=email, password=password)
    if operator is None:
        return None
    return await accounts.start_session(session, operator=operator, replaces=previous_token)

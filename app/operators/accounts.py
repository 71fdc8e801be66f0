"""Operator accounts and console sessions.

Passwords are hashed with argon2id (argon2-cffi's defaults, rehashed on login when they move). A login
always creates a new session with a new random token and CSRF token, so a token planted before login
(session fixation) is never promoted; only the SHA-256 digest of a session token is stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Conflict, InvalidInput, NotFound
from app.operators.models import ROLES, Operator, OperatorSession

SESSION_HOURS: Final = 12
MIN_PASSWORD_CHARS: Final = 10
MAX_PASSWORD_CHARS: Final = 1024
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,63}$")
_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so a wrong email costs as long as a wrong password."""
    return _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class NewSession:
    """A console session just created: the cookie token (shown once) and its CSRF token."""

    token: str
    csrf_token: str
    operator_id: uuid.UUID
    tenant_id: uuid.UUID


def token_digest(token: str) -> str:
    """The stored key of a session token (256-bit random: a fast hash suffices)."""
    return hashlib.sha256(token.encode()).hexdigest()


def normalize_email(email: str) -> str:
    """Emails compare case-insensitively; the 422 names the field."""
    clean = email.strip().lower()
    if not _EMAIL.match(clean):
        raise InvalidInput("email is not a valid address", details=[{"field": "email", "message": "invalid email"}])
    return clean


def check_password(password: str) -> None:
    """At least MIN_PASSWORD_CHARS characters (and a sane maximum: argon2 hashes whatever it is given)."""
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise InvalidInput(
            f"password must have {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters",
            details=[{"field": "password", "message": f"at least {MIN_PASSWORD_CHARS} characters"}],
        )


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``."""
    return _hasher.hash(password)


async def create_operator(
    session: AsyncSession, *, tenant_id: uuid.UUID, email: str, password: str, role: str = "operator"
) -> Operator:
    """A new operator of the tenant; 409 when the email already has an account there."""
    if role not in ROLES:
        raise InvalidInput("role must be operator or admin", details=[{"field": "role", "message": "unknown role"}])
    check_password(password)
    operator = Operator(
        tenant_id=tenant_id, email=normalize_email(email), password_hash=hash_password(password), role=role
    )
    try:
        async with session.begin_nested():
            session.add(operator)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict("an operator with this email already exists for this tenant") from exc
    return operator


async def require_operator(session: AsyncSession, *, tenant_id: uuid.UUID, operator_id: uuid.UUID) -> Operator:
    """The tenant's operator with this id (404 otherwise, another tenant's included)."""
    stmt = select(Operator).where(Operator.tenant_id == tenant_id, Operator.id == operator_id)
    operator = (await session.execute(stmt)).scalar_one_or_none()
    if operator is None:
        raise NotFound("no such operator", details={"operator_id": str(operator_id)})
    return operator


async def set_disabled(session: AsyncSession, *, operator: Operator, disabled: bool) -> Operator:
    """Disable the account (it can no longer sign in and every open session ends at once) or enable it again.

    Accounts are disabled, never deleted: the messages and notes an operator wrote keep their author.
    """
    if disabled and operator.disabled_at is None:
        operator.disabled_at = datetime.now(UTC)
        await end_all_sessions(session, operator_id=operator.id)
    elif not disabled:
        operator.disabled_at = None
    await session.flush()
    return operator


async def set_password(session: AsyncSession, *, operator: Operator, password: str) -> None:
    """Replace the account's password; every open session ends (sign in again with the new one)."""
    check_password(password)
    operator.password_hash = hash_password(password)
    await end_all_sessions(session, operator_id=operator.id)
    await session.flush()


async def end_all_sessions(session: AsyncSession, *, operator_id: uuid.UUID) -> None:
    """Every session of the operator is deleted: their cookies are worthless from the next request."""
    await session.execute(delete(OperatorSession).where(OperatorSession.operator_id == operator_id))


async def list_operators(session: AsyncSession, *, tenant_id: uuid.UUID) -> list[Operator]:
    """The tenant's operators by email."""
    stmt = select(Operator).where(Operator.tenant_id == tenant_id).order_by(Operator.email)
    return list((await session.execute(stmt)).scalars())


async def find_operator(session: AsyncSession, *, tenant_id: uuid.UUID, email: str) -> Operator | None:
    """The tenant's operator with this email (any case), or None."""
    stmt = select(Operator).where(Operator.tenant_id == tenant_id, Operator.email == email.strip().lower())
    return (await session.execute(stmt)).scalar_one_or_none()


async def authenticate(session: AsyncSession, *, tenant_id: uuid.UUID, email: str, password: str) -> Operator | None:
    """The active operator with these credentials, or None (same work whether or not the email exists)."""
    clean = email.strip().lower()
    operator = (
        await session.execute(
            select(Operator).where(
                Operator.tenant_id == tenant_id, Operator.email == clean, Operator.disabled_at.is_(None)
            )
        )
    ).scalar_one_or_none()
    try:
        _hasher.verify(operator.password_hash if operator else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if operator is None:
        return None
    if _hasher.check_needs_rehash(operator.password_hash):
        operator.password_hash = hash_password(password)
    operator.last_login_at = datetime.now(UTC)
    return operator


async def start_session(session: AsyncSession, *, operator: Operator, replaces: str | None = None) -> NewSession:
    """A fresh session for ``operator``; the session the browser held before (``replaces``) is deleted."""
    if replaces:
        await end_session(session, token=replaces)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(
        OperatorSession(
            id=token_digest(token),
            operator_id=operator.id,
            tenant_id=operator.tenant_id,
            csrf_token=csrf,
            expires_at=datetime.now(UTC) + timedelta(hours=SESSION_HOURS),
        )
    )
    # Expired sessions of this operator go with each login: the table never grows without bound.
    await session.execute(
        delete(OperatorSession).where(
            OperatorSession.operator_id == operator.id, OperatorSession.expires_at < func.now()
        )
    )
    await session.flush()
    return NewSession(token=token, csrf_token=csrf, operator_id=operator.id, tenant_id=operator.tenant_id)


async def load_session(session: AsyncSession, *, token: str) -> tuple[OperatorSession, Operator] | None:
    """The live session for a cookie token and its (still active) operator."""
    row = (
        await session.execute(
            select(OperatorSession, Operator)
            .join(Operator, Operator.id == OperatorSession.operator_id)
            .where(
                OperatorSession.id == token_digest(token),
                OperatorSession.expires_at > func.now(),
                Operator.disabled_at.is_(None),
            )
        )
    ).one_or_none()
    return None if row is None else (row[0], row[1])


async def end_session(session: AsyncSession, *, token: str) -> None:
    """Log out: the session row is deleted, so the token is worthless even if it was copied."""
    await session.execute(delete(OperatorSession).where(OperatorSession.id == token_digest(token)))

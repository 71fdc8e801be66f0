"""Operator API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.text.visible import is_blank


def _no_nul(value: str) -> str:
    return value.replace("\x00", "")


class HandoffRead(BaseModel):
    """A conversation waiting for a person."""

    conversation_id: uuid.UUID
    customer: str
    profile_name: str | None
    reason: str | None
    handoff_at: datetime | None
    waiting_seconds: int
    last_customer_message: str | None
    last_customer_message_at: datetime | None
    assigned_to: str | None


class OperatorMessageCreate(BaseModel):
    """Free text (inside WhatsApp's 24-hour window), or a template with its variables (outside it)."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, min_length=1, max_length=4000)
    template: str | None = Field(default=None, min_length=1, max_length=128, description="Purpose or ContentSid")
    variables: dict[str, str] = Field(default_factory=dict, max_length=20)
    operator_email: str | None = Field(
        default=None, max_length=254, description="The operator this program writes for (stored with the message)"
    )

    @field_validator("text", "template")
    @classmethod
    def _clean(cls, value: str | None) -> str | None:
        if value is None:
            return None
        cleaned = _no_nul(value)
        if is_blank(cleaned):  # zero-width characters alone show nothing either
            raise ValueError("must not be blank")
        return cleaned

    @field_validator("variables")
    @classmethod
    def _bounded_variables(cls, value: dict[str, str]) -> dict[str, str]:
        """Template variables are short ("1": "Ana"): bounded, and without NUL (JSONB and Twilio refuse it)."""
        if any(len(k) > 32 or len(v) > 1024 for k, v in value.items()):
            raise ValueError("variable names are at most 32 characters, values at most 1024")
        return {_no_nul(k): _no_nul(v) for k, v in value.items()}

    @model_validator(mode="after")
    def _one_of(self) -> OperatorMessageCreate:
        if (self.text is None) == (self.template is None):
            raise ValueError("give either text or template")
        return self


class OperatorMessageRead(BaseModel):
    """The stored parts of an operator's reply."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    body: str
    status: str
    channel: str


class AssignRequest(BaseModel):
    """Who takes the conversation (null: nobody)."""

    model_config = ConfigDict(extra="forbid")

    operator_id: uuid.UUID | None


class AssignRead(BaseModel):
    """The conversation's holder after the change."""

    conversation_id: uuid.UUID
    operator_id: uuid.UUID | None
    operator_email: str | None


class NoteCreate(BaseModel):
    """An internal note."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000)

    @field_validator("text")
    @classmethod
    def _clean(cls, value: str) -> str:
        cleaned = _no_nul(value)
        if is_blank(cleaned):  # zero-width characters alone show nothing either
            raise ValueError("must not be blank")
        return cleaned


class NoteRead(BaseModel):
    """An internal note as stored."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    conversation_id: uuid.UUID
    author: str
    body: str
    created_at: datetime


class ConversationStateRead(BaseModel):
    """A conversation's status after an operator action."""

    conversation_id: uuid.UUID
    status: str
    closed: bool


class NotifySettings(BaseModel):
    """The tenant's notification endpoint (null URL: events are recorded but not sent)."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, max_length=2000)
    rotate_secret: bool = False


class NotifyRead(BaseModel):
    """The endpoint; ``secret`` only in the answer that created or rotated it (store it then)."""

    url: str | None
    secret_prefix: str | None
    secret: str | None = None
    signature_header: str


class OperatorCreate(BaseModel):
    """A new operator account of the tenant."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=10, max_length=1024)
    role: Literal["operator", "admin"] = "operator"


class OperatorRead(BaseModel):
    """An operator account (never the password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    role: str
    created_at: datetime
    last_login_at: datetime | None
    disabled_at: datetime | None = Field(default=None, description="Set while the account may not sign in")


class OperatorPassword(BaseModel):
    """A new password for an operator (every session of the account ends)."""

    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=1, max_length=1024)

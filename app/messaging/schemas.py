"""API shapes of WhatsApp messaging: a customer's opt-out, the tenant's templates."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class OptOutUpdate(BaseModel):
    """Opt the conversation's customer out of (or back into) messages from the tenant."""

    model_config = ConfigDict(extra="forbid")

    opted_out: bool


class OptOutRead(BaseModel):
    """A conversation's opt-out state."""

    conversation_id: str
    opted_out: bool
    opted_out_at: datetime | None
    changed: bool = Field(description="False when it already was so")


class TemplateRead(BaseModel):
    """A synced WhatsApp template."""

    model_config = ConfigDict(from_attributes=True)

    content_sid: str
    friendly_name: str
    language: str
    purpose: str | None
    status: str
    body: str
    rejection_reason: str | None


class TemplatesRead(BaseModel):
    """The tenant's templates and what each purpose will send."""

    templates: list[TemplateRead]
    purposes: dict[str, str] = Field(description="purpose → approved (SID), a pending status, or missing")

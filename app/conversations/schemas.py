"""Conversation and chat API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ChatRequest(BaseModel):
    """A message from a program, as if the customer ``user`` had written it."""

    model_config = ConfigDict(extra="forbid")

    user: str = Field(min_length=1, max_length=128, description="Customer id; 'whatsapp:+52...' shares WhatsApp's chat")
    text: str = Field(min_length=1, max_length=4096)

    @field_validator("user", "text")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        # PostgreSQL text cannot hold NUL; a stray one must not turn into a 500.
        cleaned = value.replace("\x00", "")
        if not cleaned.strip():
            raise ValueError("must not be blank")
        return cleaned


class QuoteRead(BaseModel):
    """A financing quote (MXN, two decimals)."""

    price: float
    down_payment: float
    amount_financed: float
    annual_rate: float
    term_months: int
    monthly_payment: float
    total_paid: float
    total_interest: float


class SourceRead(BaseModel):
    """A knowledge entry the reply used."""

    id: str
    title: str


class IntentRead(BaseModel):
    """One intent recognised in the customer's message."""

    name: str
    confidence: float


class UsageTotals(BaseModel):
    """The LLM usage of one turn (zero on the offline tier)."""

    llm_calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


class ChatResponse(BaseModel):
    """The reply and the structured facts behind it."""

    conversation_id: uuid.UUID
    reply: str
    parts: list[str]
    intent: str
    agent: Literal["info", "catalog", "finance", "concierge", "booking", "handoff", "smalltalk"]
    handoff: bool
    tier: str
    items: list[str]
    quote: QuoteRead | None
    sources: list[SourceRead]
    latency_ms: int
    model: str | None = Field(description="The model that wrote the reply; null on the offline tier")
    usage: UsageTotals
    intents: list[IntentRead]
    confidence: float | None
    complexity: float | None
    routing_reason: str | None
    handoff_reason: str | None


class ConversationRead(BaseModel):
    """A conversation summary."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    customer: str
    profile_name: str | None
    status: str
    handoff_reason: str | None
    handoff_at: datetime | None
    released_at: datetime | None
    last_message_at: datetime | None
    last_inbound_at: datetime | None = Field(
        default=None, description="When the customer last wrote on WhatsApp (the 24-hour window runs from it)"
    )
    opted_out_at: datetime | None = Field(default=None, description="Set while the customer has opted out")
    created_at: datetime


class MessageRead(BaseModel):
    """One message of a conversation."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    direction: str
    channel: str
    body: str
    status: str
    provider_sid: str | None
    error_code: int | None
    media: list[dict[str, Any]]
    turn_id: int | None
    part_index: int | None
    blocked_reason: str | None = Field(
        default=None, description="Why it was not sent (status blocked): opted_out, window_closed, ..."
    )
    content_sid: str | None = Field(default=None, description="The template or rich content it was sent as")
    created_at: datetime

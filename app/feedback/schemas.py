"""API shapes of feedback, corrections and the evaluation set."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator


class FeedbackRead(BaseModel):
    """A customer's answer to "was this helpful?" on one turn."""

    model_config = ConfigDict(from_attributes=True)

    turn_id: int
    conversation_id: uuid.UUID
    run_id: uuid.UUID | None = Field(description="The turn's trace in LangSmith, where the feedback was recorded too")
    score: int | None = Field(description="1 = 👍, 0 = 👎")
    reason: str | None = Field(description="The customer's one-line reason after a 👎")
    state: str
    asked_at: datetime
    answered_at: datetime | None
    question: str | None = Field(description="What the customer asked in the turn")
    reply: str = Field(description="The reply the customer rated")


class FeedbackList(BaseModel):
    items: list[FeedbackRead]
    up: int
    down: int


class CorrectionCreate(BaseModel):
    """The right answer to a turn's question (``turn_id``) or to a question written out."""

    model_config = ConfigDict(extra="forbid")

    turn_id: int | None = Field(default=None, ge=1)
    question: str | None = Field(default=None, min_length=1, max_length=500)
    answer: str = Field(min_length=1, max_length=5_000)
    paraphrases: list[Annotated[str, Field(max_length=500)]] = Field(
        default_factory=list, max_length=20, description="Other ways customers ask it (also evaluation cases)"
    )

    @model_validator(mode="after")
    def _one_source(self) -> CorrectionCreate:
        if self.turn_id is None and not (self.question or "").strip():
            raise ValueError("give turn_id or question")
        return self


class CorrectionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    turn_id: int | None
    question: str
    answer: str
    knowledge_entry_id: uuid.UUID | None
    created_at: datetime


class EvalCaseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    question: str
    expected: str
    correction_id: uuid.UUID | None

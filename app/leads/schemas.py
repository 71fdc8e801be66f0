"""Lead API shapes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from app.leads.booking import Kind

LeadStatus = Literal["new", "contacted", "done", "cancelled"]


class LeadRead(BaseModel):
    """A visit or test drive booked in a conversation."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    conversation_id: uuid.UUID | None
    customer: str
    kind: Kind
    stock_id: str | None
    car: str | None
    day: date | None
    time_window: str | None
    branch: str | None
    name: str | None
    status: LeadStatus
    created_at: datetime

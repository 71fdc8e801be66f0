"""API shape of an alert."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AlertRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    details: dict[str, Any] = Field(description="The figures when it opened")
    opened_at: datetime
    cleared_at: datetime | None = Field(description="When it recovered; null while open")

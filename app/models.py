"""Imports every domain's models so metadata is complete (alembic autogenerate, mappers)."""

from __future__ import annotations


def load_all_models() -> None:
    """Import all model modules; cheap and idempotent."""
    from app.auth import models as _auth  # noqa: F401
    from app.catalog import models as _catalog  # noqa: F401
    from app.concierge import models as _concierge  # noqa: F401
    from app.conversations import models as _conversations  # noqa: F401
    from app.knowledge import models as _knowledge  # noqa: F401
    from app.tenants import models as _tenants  # noqa: F401
    from app.usage import models as _usage  # noqa: F401

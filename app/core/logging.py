"""Logging setup for the API, the worker and the CLI."""

from __future__ import annotations

import logging

from app.core.config import get_settings


class _RedactSecrets(logging.Filter):
    """Replace configured secrets if they ever reach a log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        settings = get_settings()
        secrets = [s.get_secret_value() for s in (settings.twilio_auth_token, settings.admin_api_key) if s]
        if secrets:
            message = record.getMessage()
            if any(s in message for s in secrets):
                for secret in secrets:
                    message = message.replace(secret, "***")
                record.msg, record.args = message, None
        return True


def configure_logging() -> None:
    """One line per event, level from LOG_LEVEL; idempotent."""
    root = logging.getLogger()
    if getattr(root, "_agent_configured", False):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_RedactSecrets())
    root.addHandler(handler)
    root.setLevel(get_settings().log_level.upper())
    root._agent_configured = True  # type: ignore[attr-defined]

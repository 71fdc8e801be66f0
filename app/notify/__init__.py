"""Outbound notifications: events recorded with the write that caused them, delivered signed to the tenant's URL."""

"""Alerts: conditions that need a person (a provider down, the budget spent, customers waiting...), raised
once, cleared once, delivered signed to the tenant's notification webhook and an optional admin channel."""

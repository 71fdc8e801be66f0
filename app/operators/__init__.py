"""Operators: per-tenant accounts, console sessions and what a person does with a conversation."""

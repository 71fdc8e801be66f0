"""Experiments: two variants of a tenant's agent configuration, a stable traffic split, per-arm metrics and a
sequential test that stops (and rolls back) an arm that is significantly worse."""

"""LLM infrastructure below the orchestrator: providers, invocation with failover, health, model table, tracing."""

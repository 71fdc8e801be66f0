"""Multi-step flows of a conversation: receive a message, answer a turn, persist it, deliver the reply."""

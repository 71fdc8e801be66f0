"""Leads: visit and test-drive requests the agent takes in a conversation, for the business to follow up."""

"""Concierge: vendors, requests, outreach, replies and shortlists (issue 5)."""

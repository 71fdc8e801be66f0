"""``python -m app.cli``: agentctl without the console script (``agentctl up`` starts its worker so)."""

from app.cli.main import app

app()

"""Conversation evaluation (issue 13): multi-turn customer conversations on two dealers, checked per turn.

Data: sets/*.yaml (conversations), dealers/bajio/ (the second dealer's CSV, company text and tenant).
Ground truth: truth.py. Checks: checks.py. Schema: spec.py. Runner: runner.py (``python -m tests.eval.conversations``).
"""

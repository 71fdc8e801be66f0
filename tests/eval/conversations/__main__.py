"""``python -m tests.eval.conversations``: run the conversation evaluation (see runner.py)."""

import sys

from tests.eval.conversations.runner import main

sys.exit(main())

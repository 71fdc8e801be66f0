"""The learning loop's customer side: 👍/👎 feedback on turns, operators' corrections and the evaluation set."""

"""Personal recommendations ("for you"): the ranking model (model.py) and the per-reader feed (feed.py)."""

"""Author names: how variants of one name meet (names.py) and an author's page (page.py)."""

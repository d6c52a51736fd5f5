"""Follows: a reader follows an author name, a category or a paper (core.py); authorship claims
(claims.py)."""

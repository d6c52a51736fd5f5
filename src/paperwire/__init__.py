"""Paperwire: gather research papers, find them by meaning, show what is new."""

__version__ = "0.1.0"

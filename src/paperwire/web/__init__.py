"""The web layer: HTML pages, the JSON API and Atom feeds over the store and the search engine."""

from .app import create_app

__all__ = ["create_app"]

"""A reader's library: saved papers filed under tags, "not relevant" marks for the "for you" feed
(core.py), and its BibTeX and CSV exports (export.py; one BibTeX entry per paper: bibtex.py, also
what the paper pages show)."""

from .core import LibraryError, NotFound, mark_not_relevant, parse_tags, remove, save, set_tags, valid_tag

__all__ = ["LibraryError", "NotFound", "mark_not_relevant", "parse_tags", "remove", "save", "set_tags", "valid_tag"]

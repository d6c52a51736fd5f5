// Save / not-relevant buttons without a page reload (owned by web/library.py); progressive enhancement only.

"""The errors a person must act on. Library code raises these (never ``SystemExit``); the message
says what happened and what to do. Only the command line (``cli.main``) turns one into an exit
status and a line on stderr; the web layer turns the ones it expects into answers."""

from __future__ import annotations


class PaperwireError(Exception):
    """Base of every error meant for the user. ``exit_status`` is what ``paperwire`` exits with."""

    exit_status = 1


class ConfigError(PaperwireError, ValueError):
    """A PAPERWIRE_* setting that cannot be used; raised when the settings are loaded, so a
    process with a bad setting stops at start. Exits 2, like every other usage error."""

    exit_status = 2


class SecretKeyError(PaperwireError):
    """The signing key file exists but cannot be used."""

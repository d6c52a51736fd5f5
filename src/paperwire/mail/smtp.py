"""One SMTP connection built from the settings, kept open across messages.

``SMTPConnection.send(recipient, message)`` runs one mail transaction (MAIL, RCPT, DATA) step by
step, so that every failure says at which step it happened, and raises ``SendError`` with a
``kind``:

- ``connection``: the server could not be reached, or dropped/timed out (retry later);
- ``config``: our side is wrong (TLS, login, sender address refused): retry later, tell the admin;
- ``temporary``: a 4xx reply (retry later);
- ``permanent``: a 5xx reply about the recipient (bounce: never retry, suppress the address);
- ``rejected``: a 5xx reply about this message only (fail it, keep the address).

``delivered_maybe`` is True when the server may have accepted the message although we saw an
error (the connection broke after the whole message was sent): a retry then may deliver it twice,
with the same Message-ID.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import time
from email.utils import parseaddr


class SendError(Exception):
    def __init__(
        self, kind: str, message: str, *, code: int | None = None, stage: str = "", delivered_maybe: bool = False
    ):
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.stage = stage
        self.delivered_maybe = delivered_maybe


def _text(resp) -> str:
    if isinstance(resp, bytes):
        return resp.decode("utf-8", "replace")
    return str(resp)


class SMTPConnection:
    def __init__(self, settings):
        self.settings = settings
        self.host = settings.smtp_host
        self.port = int(settings.smtp_port)
        self.security = settings.smtp_security  # one of SMTP_SECURITY, checked when the settings load
        self.timeout = float(settings.smtp_timeout)
        self.envelope_from = parseaddr(settings.mail_from)[1] or settings.mail_from
        self._smtp: smtplib.SMTP | None = None
        self.last_used = 0.0

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def is_open(self) -> bool:
        return self._smtp is not None

    def _tls_context(self) -> ssl.SSLContext:
        cafile = (self.settings.extra or {}).get("smtp_cafile")
        return ssl.create_default_context(cafile=cafile)

    def open(self) -> None:
        """Connect (and STARTTLS, and log in) unless already connected."""
        if self._smtp is not None:
            return
        try:
            if self.security == "tls":
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._tls_context())
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except ConnectionRefusedError as e:
            raise SendError(
                "connection", f"SMTP server {self.where} refused the connection ({e.strerror})", stage="connect"
            ) from e
        except TimeoutError as e:
            raise SendError(
                "connection", f"SMTP server {self.where} did not answer within {self.timeout:g} s", stage="connect"
            ) from e
        except smtplib.SMTPServerDisconnected as e:  # connected, but no greeting
            raise SendError(
                "connection",
                f"SMTP server {self.where} accepted the connection but did not greet "
                f"us within {self.timeout:g} s ({e})",
                stage="connect",
            ) from e
        except ssl.SSLError as e:
            raise SendError(
                "config", f"TLS with SMTP server {self.where} failed ({e}); " + _tls_hint(e), stage="connect"
            ) from e
        except (OSError, smtplib.SMTPException) as e:
            raise SendError("connection", f"could not connect to SMTP server {self.where}: {e}", stage="connect") from e
        try:
            smtp.ehlo_or_helo_if_needed()
            if self.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise SendError(
                        "config",
                        f"SMTP server {self.where} does not offer STARTTLS; check PAPERWIRE_SMTP_SECURITY",
                        stage="starttls",
                    )
                smtp.starttls(context=self._tls_context())
                smtp.ehlo()
            if self.settings.smtp_user:
                smtp.login(self.settings.smtp_user, self.settings.smtp_password or "")
        except SendError:
            self._close(smtp)
            raise
        except smtplib.SMTPAuthenticationError as e:
            self._close(smtp)
            raise SendError(
                "config",
                f"SMTP server {self.where} refused the login for "
                f"{self.settings.smtp_user!r} ({e.smtp_code} {_text(e.smtp_error)}); "
                "check PAPERWIRE_SMTP_USER/PASSWORD",
                code=e.smtp_code,
                stage="auth",
            ) from e
        except smtplib.SMTPNotSupportedError as e:
            self._close(smtp)
            raise SendError(
                "config",
                f"SMTP server {self.where}: {e}; check PAPERWIRE_SMTP_USER "
                "(the server offers no login) and PAPERWIRE_SMTP_SECURITY",
                stage="auth",
            ) from e
        except ssl.SSLError as e:
            self._close(smtp)
            raise SendError(
                "config", f"STARTTLS with SMTP server {self.where} failed ({e}); " + _tls_hint(e), stage="starttls"
            ) from e
        except smtplib.SMTPResponseException as e:
            self._close(smtp)
            kind = "connection" if e.smtp_code == 421 or e.smtp_code < 500 else "config"
            raise SendError(
                kind,
                f"SMTP server {self.where} answered {e.smtp_code} {_text(e.smtp_error)} while we were greeting it",
                code=e.smtp_code,
                stage="helo",
            ) from e
        except (OSError, smtplib.SMTPException) as e:
            self._close(smtp)
            raise SendError("connection", f"SMTP server {self.where} dropped the connection: {e}", stage="helo") from e
        self._smtp = smtp
        self.last_used = time.monotonic()

    @staticmethod
    def _close(smtp) -> None:
        try:
            smtp.quit()
        except Exception:
            try:
                smtp.close()
            except Exception:
                pass

    def close(self) -> None:
        if self._smtp is not None:
            smtp, self._smtp = self._smtp, None
            self._close(smtp)

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            except Exception:
                pass
            self._smtp = None

    def send(self, recipient: str, message: bytes) -> str:
        """Send one message to one envelope recipient; returns the server's reply to DATA.
        A connection found dead before anything was sent is reopened once, transparently."""
        if "<" in recipient:
            recipient = parseaddr(recipient)[1] or recipient
        reused = self._smtp is not None
        try:
            return self._transaction(recipient, message)
        except SendError as e:
            if reused and e.kind == "connection" and e.stage in ("mail", "rset"):
                self._drop()  # the server closed an idle connection: nothing was sent, try a fresh one
                return self._transaction(recipient, message)
            raise

    def _transaction(self, recipient: str, message: bytes) -> str:
        self.open()
        smtp = self._smtp
        assert smtp is not None
        stage = "mail"
        try:
            options = []
            if not message.isascii() and smtp.has_extn("8bitmime"):
                options.append("BODY=8BITMIME")
            if not (recipient.isascii() and self.envelope_from.isascii()):
                if not smtp.has_extn("smtputf8"):
                    raise SendError(
                        "rejected",
                        f"SMTP server {self.where} cannot take the non-ASCII address {recipient!r} (no SMTPUTF8)",
                        stage="mail",
                    )
                options.append("SMTPUTF8")
            code, resp = smtp.mail(self.envelope_from, options)
            if code == 421:  # often an idle connection the server is closing: like a dropped line
                self._drop()
                raise SendError(
                    "connection",
                    f"SMTP server {self.where} is closing the connection: {code} {_text(resp)}",
                    code=code,
                    stage="mail",
                )
            if code != 250:
                self._after_reply(smtp, code)
                kind = "temporary" if code < 500 else "config"
                raise SendError(
                    kind,
                    f"SMTP server {self.where} refused the sender {self.envelope_from!r}: "
                    f"{code} {_text(resp)}" + ("" if code < 500 else "; check PAPERWIRE_MAIL_FROM"),
                    code=code,
                    stage="mail",
                )
            stage = "rcpt"
            code, resp = smtp.rcpt(recipient)
            if code not in (250, 251):
                self._after_reply(smtp, code)
                kind = "temporary" if code < 500 else "permanent"
                raise SendError(kind, f"{code} {_text(resp)}", code=code, stage="rcpt")
            stage = "data"
            code, resp = smtp.data(message)
            if code != 250:
                self._after_reply(smtp, code)
                text = _text(resp)
                kind = "temporary" if code < 500 else ("permanent" if _address_problem(text) else "rejected")
                raise SendError(kind, f"{code} {text}", code=code, stage="data")
            self.last_used = time.monotonic()
            return _text(resp)
        except SendError:
            raise
        except smtplib.SMTPDataError as e:  # the DATA command itself refused
            self._after_reply(smtp, e.smtp_code)
            kind = "temporary" if e.smtp_code < 500 else "rejected"
            raise SendError(kind, f"{e.smtp_code} {_text(e.smtp_error)}", code=e.smtp_code, stage="data") from e
        except (smtplib.SMTPServerDisconnected, OSError) as e:
            self._drop()
            # once the message is on the wire, the server may have taken it before the line broke
            maybe = stage == "data"
            what = "timed out" if isinstance(e, (socket.timeout, TimeoutError)) else "dropped the connection"
            raise SendError(
                "connection",
                f"SMTP server {self.where} {what} during {stage.upper()}: {e}",
                stage=stage,
                delivered_maybe=maybe,
            ) from e

    def _after_reply(self, smtp, code: int) -> None:
        if code == 421:  # the server is closing the connection
            self._drop()
            return
        try:
            smtp.rset()
        except Exception:
            self._drop()


def _tls_hint(e: Exception) -> str:
    if isinstance(e, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(e):
        return (
            "the server's certificate is not trusted: PAPERWIRE_SMTP_HOST must be the name on the "
            "certificate, and its CA must be trusted (settings.extra['smtp_cafile'] names a CA file)"
        )
    return "check PAPERWIRE_SMTP_SECURITY (tls is usually port 465, starttls 587, none 25)"


def _address_problem(reply: str) -> bool:
    """An enhanced status code saying the mailbox is bad (5.1.x, 5.2.1), not the message."""
    parts = reply.split()
    return bool(parts) and (parts[0].startswith("5.1.") or parts[0] == "5.2.1")

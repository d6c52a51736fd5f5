"""A polite HTTP client for harvesting: a pause between requests, timeouts, retries with
exponential backoff and jitter, ``Retry-After`` honoured (capped), and one clear error at the end.

arXiv asks for no more than one request every 3 seconds (``PAPERWIRE_HTTP_DELAY``); its OAI-PMH
server answers ``503`` with ``Retry-After`` when a harvester is too fast.
"""

from __future__ import annotations

import random
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httpx
from lxml import etree

from ..config import Settings
from ..errors import PaperwireError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_MAX_WAIT = 300.0  # the longest single pause (Retry-After or backoff) we accept, in seconds
MAX_BODY_BYTES = 100 * 1024 * 1024  # a response longer than this (decompressed) is refused
ERROR_BODY_BYTES = 65536  # what is kept of an error answer's body, for the message

T = TypeVar("T")


def user_agent() -> str:
    try:
        from importlib.metadata import version

        v = version("paperwire")
    except Exception:  # running from a source tree without metadata
        v = "0"
    return f"paperwire/{v} (self-hosted research-paper search; polite harvester: 1 request per {{delay}} s)"


class HarvestError(PaperwireError, RuntimeError):
    """Any harvest failure meant for the user: the message says what happened and what to do."""


class HttpError(HarvestError):
    """A request that failed for good. The message says which URL, what happened, what to do."""

    def __init__(self, url: str, message: str, *, status: int | None = None, body: bytes | None = None):
        super().__init__(message)
        self.url = url
        self.status = status
        self.body = body


class ResponseTooLarge(HttpError):
    """A response body over the limit, counted after decompression: refused, never retried."""


class BadContent(Exception):
    """Raised by a parse callback when a complete-looking response cannot be used as it is
    (cut-off XML, an empty page arXiv should not have sent): the request is tried again."""


class UnsafeContent(HarvestError):
    """Content refused on principle (an XML DTD or entity declarations): never retried."""


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now: '120' or an HTTP date. None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now_dt = datetime.fromtimestamp(now, UTC) if now is not None else datetime.now(UTC)
    return max(0.0, (when - now_dt).total_seconds())


def _decompressor(content_encoding: str):
    """A zlib decompressor for the response's Content-Encoding, None for none. We ask for gzip
    only; anything else a server sends anyway is refused rather than guessed at."""
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return None
    if codings in (["gzip"], ["x-gzip"]):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if codings == ["deflate"]:
        return zlib.decompressobj()  # the zlib format (RFC 9110 8.4.1.2)
    raise ValueError(f"unsupported Content-Encoding {content_encoding[:40]!r}")


def read_capped(response: httpx.Response, limit: int, *, cut: bool = False) -> bytes:
    """The body of a streamed ``response``, decompressed here, a bounded piece at a time, so that
    no more than ``limit`` bytes (+1) are ever held: a small gzip that expands to gigabytes stops
    at the limit. Over it: ``ResponseTooLarge``, or with ``cut`` the first ``limit`` bytes.
    A corrupt compressed body raises ``httpx.DecodingError``."""
    url = str(response.request.url)
    too_large = (
        f"{url}: response larger than {limit / 2**20:g} MiB (decompressed); refused. Nothing from it was stored."
    )
    try:
        decoder = _decompressor(response.headers.get("content-encoding", ""))
    except ValueError as e:
        raise HttpError(url, f"{url}: {e}; refused.", status=response.status_code) from None
    declared = response.headers.get("content-length", "")
    if decoder is None and not cut and declared.isdigit() and int(declared) > limit:
        raise ResponseTooLarge(url, too_large, status=response.status_code)
    out = bytearray()
    try:
        for raw in response.iter_raw():
            if decoder is None:
                out += raw
            else:
                data = raw
                while data and len(out) <= limit:
                    # max_length: never more than one byte past the limit, however dense the input
                    out += decoder.decompress(data, limit + 1 - len(out))
                    data = decoder.unconsumed_tail
            if len(out) > limit:
                break
        if decoder is not None and len(out) <= limit:
            out += decoder.flush()
    except zlib.error as e:
        raise httpx.DecodingError(f"broken compressed body ({e})", request=response.request) from None
    if len(out) > limit:
        if cut:
            return bytes(out[:limit])
        raise ResponseTooLarge(url, too_large, status=response.status_code)
    return bytes(out)


def fetch(
    client: httpx.Client,
    url: str,
    *,
    params: dict | None = None,
    headers: dict | None = None,
    accept: tuple[int, ...] = (200,),
    limit: int = MAX_BODY_BYTES,
) -> httpx.Response:
    """GET ``url`` through ``client``, streaming: an answer with a status in ``accept`` is read
    up to ``limit`` bytes (read_capped; over: ResponseTooLarge), any other keeps its first
    ERROR_BODY_BYTES. Returns a complete, already decoded response."""
    with client.stream("GET", url, params=params, headers=headers) as response:
        full = response.status_code in accept
        body = read_capped(response, limit if full else ERROR_BODY_BYTES, cut=not full)
        kept = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(
            response.status_code,
            headers=kept,
            content=body,
            request=response.request,
            extensions={k: v for k, v in response.extensions.items() if k in ("reason_phrase", "http_version")},
        )


_XML_PARSER = None

# a DTD in any encoding an XML document may use without declaring it (XML 1.0 appendix F)
_CODECS = ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
_DOCTYPE = tuple("<!DOCTYPE".encode(c) for c in _CODECS)
_ENTITY = tuple("<!ENTITY".encode(c) for c in _CODECS)


def parse_xml(body: bytes, what: str) -> etree._Element:
    """Parse untrusted XML with a hardened parser.

    A document with a DTD or entity declarations (the "billion laughs" bomb and its cousins) is
    refused with ``UnsafeContent`` before anything is expanded; malformed or cut-off XML raises
    ``BadContent`` so the caller fetches it again.
    """
    global _XML_PARSER
    if _XML_PARSER is None:
        _XML_PARSER = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            huge_tree=False,
            load_dtd=False,
            dtd_validation=False,
            remove_comments=True,
            remove_pis=True,
        )
    # every encoding: a UTF-16 bomb hides from a UTF-8 search, and libxml2's own refusal of it
    # would look like a broken page and be fetched again
    head = body[:131072]
    if any(m in head for m in _DOCTYPE) or any(m in body for m in _ENTITY):
        raise UnsafeContent(
            f"{what}: refused XML with a DTD or entity declarations (a possible entity-expansion "
            "'billion laughs' bomb); arXiv never sends these, so the server or something between "
            "us and it is not what it should be. Nothing from this response was stored."
        )
    if not body.strip():
        raise BadContent(f"{what}: empty response body")
    try:
        root = etree.fromstring(body, _XML_PARSER)
    except etree.XMLSyntaxError as e:
        raise BadContent(
            f"{what}: incomplete or malformed XML ({e}); the connection was probably cut mid-document"
        ) from None
    if root.getroottree().docinfo.internalDTD is not None:
        raise UnsafeContent(f"{what}: refused XML with an internal DTD. Nothing from this response was stored.")
    return root


class PoliteClient:
    """One client per harvest: keeps the pause between consecutive requests."""

    def __init__(
        self,
        settings: Settings,
        *,
        max_wait: float | None = None,
        transport: httpx.BaseTransport | None = None,
        max_body: int = MAX_BODY_BYTES,
    ):
        self.max_body = int(max_body)
        self.delay = max(0.0, float(settings.http_delay))
        self.retries = max(0, int(settings.http_retries))
        self.timeout = float(settings.http_timeout)
        self.max_wait = float(
            max_wait if max_wait is not None else settings.extra.get("http_max_wait", DEFAULT_MAX_WAIT)
        )
        self.backoff = float(settings.extra.get("http_backoff", max(self.delay, 0.01)))
        self.user_agent = user_agent().replace("{delay}", f"{self.delay:g}")
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.timeout),
            follow_redirects=True,
            transport=transport,
            headers={"User-Agent": self.user_agent, "Accept-Encoding": "gzip"},
        )
        self._last: float | None = None  # monotonic time the previous request finished
        self.requests = 0
        self.waits: list[tuple[str, float]] = []  # (why, seconds) for every pause beyond the delay

    # -- lifecycle ---------------------------------------------------------------------
    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- timing ------------------------------------------------------------------------
    def _pause(self, extra: float = 0.0) -> None:
        wait = extra
        if self._last is not None:
            wait = max(wait, self.delay - (time.monotonic() - self._last))
        if wait > 0:
            time.sleep(wait)

    def _backoff(self, attempt: int) -> float:
        base = min(self.max_wait, self.backoff * (2 ** (attempt - 1)))
        return min(self.max_wait, base * (1 + random.uniform(0, 0.5)))

    # -- requests ----------------------------------------------------------------------
    def get(self, url: str, params: dict | None = None, *, accept: tuple[int, ...] = (200,)) -> httpx.Response:
        """GET with retries. Returns a response whose status is in ``accept``; raises HttpError."""
        return self.get_parsed(url, params, lambda r: r, accept=accept)

    def get_parsed(
        self,
        url: str,
        params: dict | None,
        parse: Callable[[httpx.Response], T],
        *,
        accept: tuple[int, ...] = (200,),
        what: str | None = None,
    ) -> T:
        """GET and hand the response to ``parse``; a ``BadContent`` from it counts as a failed
        attempt (fetched again after a backoff), like a 503 or a timeout."""
        shown = str(httpx.URL(url, params=params or {}))
        attempts = self.retries + 1
        problem = ""
        advice = ""
        pending_wait = 0.0
        for attempt in range(1, attempts + 1):
            self._pause(pending_wait)
            pending_wait = 0.0
            try:
                try:
                    response = fetch(self._client, url, params=params, accept=accept, limit=self.max_body)
                finally:
                    self.requests += 1
                    self._last = time.monotonic()
            except httpx.TimeoutException:
                problem = f"no complete answer within {self.timeout:g} s"
                advice = (
                    "The server is slow or down: try again later, or raise PAPERWIRE_HTTP_TIMEOUT. "
                    "A harvest resumes where it stopped."
                )
            except httpx.TransportError as e:
                problem = f"connection failed or was cut ({type(e).__name__}: {e})"
                advice = (
                    "Check the network and the server URL (PAPERWIRE_ARXIV_API_URL / PAPERWIRE_ARXIV_OAI_URL); "
                    "a harvest resumes where it stopped."
                )
            except httpx.DecodingError as e:
                problem = str(e)
                advice = "The server sent a broken page; try again later. A harvest resumes where it stopped."
            else:
                status = response.status_code
                if status in accept:  # fetch() refused a body over max_body already
                    try:
                        return parse(response)
                    except BadContent as e:
                        problem = str(e)
                        advice = "The server sent a broken page; try again later. A harvest resumes where it stopped."
                elif status in RETRY_STATUSES:
                    problem = f"HTTP {status} {response.reason_phrase}".rstrip()
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                    if retry_after is not None:
                        pending_wait = min(retry_after, self.max_wait)
                        self.waits.append((f"Retry-After {response.headers.get('Retry-After')}", pending_wait))
                    advice = (
                        "The server is busy or limiting our rate; wait a few minutes and run the same command "
                        "again: a harvest resumes where it stopped."
                        if status in (429, 503)
                        else "The server failed; try again later: a harvest resumes where it stopped."
                    )
                else:
                    hint = {
                        400: "the server rejected the request; check the query (categories, dates, ids).",
                        403: "access refused; the server may have blocked this address for going too fast.",
                        404: "not found; check the server URL setting.",
                    }.get(status, "not retried.")
                    raise HttpError(
                        shown,
                        f"{shown}: HTTP {status} {response.reason_phrase}: {hint}".replace(" :", ":"),
                        status=status,
                        body=response.content,
                    )
            if attempt < attempts:
                if not pending_wait:
                    pending_wait = self._backoff(attempt)
                    self.waits.append((problem, pending_wait))
        raise HttpError(
            shown,
            f"{shown}: {problem} (gave up after {attempts} attempt{'s' * (attempts > 1)}). {advice}",
        )

"""A scriptable local HTTP server for testing the arXiv clients (not a test module).

    with ArxivServer() as srv:
        srv.queue("/api/query", Reply(503, headers={"Retry-After": "1"}), Reply(200, body))
        srv.route("/oai", lambda req: Reply(200, page_for(req.query)))
        ... srv.url("/api/query") ...
        srv.log  # every request: time, path, query, headers

Per path, queued replies are served first, in order; then the route function answers. A Reply can
wait before answering (timeouts), send a body shorter than its Content-Length and drop the
connection (a cut transfer), or raise in the route to answer 500.

Also here: the recorded arXiv API responses in /work/shared/data/arxiv-api-atom and an arXiv
OAI-PMH (metadataPrefix=arXiv) page writer fed with the real 0704.* records.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ATOM_DIR = DATA / "arxiv-api-atom"
ABS_0704 = DATA / "arxiv-abs-0704" / "arxiv_0704_parsed.jsonl"
SKIP_REASON = f"shared test data not found at {DATA} (the recorded arXiv responses and 0704 records live there)"


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b""
    headers: dict = field(default_factory=dict)
    content_type: str = "application/xml; charset=utf-8"
    delay: float = 0.0  # seconds to wait before answering
    cut_after: int | None = None  # send only this many body bytes (Content-Length says all), then close


@dataclass
class Request:
    time: float
    path: str
    query: dict  # name -> value (first), as the server decoded it
    raw_query: str
    headers: dict


class ArxivServer:
    def __init__(self):
        self.log: list[Request] = []
        self._queues: dict[str, list[Reply]] = {}
        self._routes: dict[str, Callable[[Request], Reply]] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                req = Request(time.monotonic(), parts.path, query, parts.query, dict(self.headers))
                with server._lock:
                    server.log.append(req)
                    queue = server._queues.get(parts.path)
                    reply = queue.pop(0) if queue else None
                if reply is None:
                    route = server._routes.get(parts.path)
                    if route is None:
                        reply = Reply(404, b"no such path", content_type="text/plain")
                    else:
                        try:
                            reply = route(req)
                        except Exception as e:  # a route may raise to simulate a server failure
                            reply = Reply(500, f"test server: {e}".encode(), content_type="text/plain")
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.body.encode("utf-8") if isinstance(reply.body, str) else reply.body
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(body)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    if reply.cut_after is not None:
                        self.send_header("Connection", "close")
                    self.end_headers()
                    if reply.cut_after is not None:
                        self.wfile.write(body[: reply.cut_after])
                        self.wfile.flush()
                        self.close_connection = True
                        return
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    # -- scripting -----------------------------------------------------------------------
    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def queue(self, path: str, *replies: Reply) -> None:
        with self._lock:
            self._queues.setdefault(path, []).extend(replies)

    def route(self, path: str, fn: Callable[[Request], Reply]) -> None:
        self._routes[path] = fn

    def requests(self, path: str | None = None) -> list[Request]:
        with self._lock:
            return [r for r in self.log if path is None or r.path == path]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> ArxivServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# -- the recorded arXiv API responses -----------------------------------------------------------


def recorded(name_prefix: str) -> dict:
    """The recorded exchange whose file name starts with ``name_prefix`` ({url, status_code, body})."""
    matches = sorted(ATOM_DIR.glob(name_prefix + "*.json"))
    if len(matches) != 1:
        raise LookupError(f"{len(matches)} recorded responses match {name_prefix!r} in {ATOM_DIR}")
    return json.loads(matches[0].read_text())


def recorded_reply(name_prefix: str, *, total: int | None = None) -> Reply:
    """A recorded response as the server sends it; ``total`` rewrites opensearch:totalResults
    (the recorded pages come from a 214,881-result query; a test serves only some of them)."""
    rec = recorded(name_prefix)
    body = rec["body"]
    if total is not None:
        import re

        body = re.sub(
            r"<opensearch:totalResults>\d+</opensearch:totalResults>",
            f"<opensearch:totalResults>{total}</opensearch:totalResults>",
            body,
        )
    return Reply(rec["status_code"], body.encode("utf-8"), content_type="application/atom+xml; charset=utf-8")


# -- arXiv OAI-PMH pages from the real 0704.* records ----------------------------------------------


def load_0704() -> list[dict]:
    with open(ABS_0704, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _day(rfc2822: str) -> str:
    return parsedate_to_datetime(rfc2822).date().isoformat()


def first_submitted(record: dict) -> str:
    return _day(record["versions"][0]["created"])


def _split_authors(authors: str) -> list[tuple[str, str]]:
    """'C. Bal\\'azs, E. L. Berger and C.-P. Yuan' -> [(keyname, forenames), ...] as arXiv splits them."""
    import re

    names = [a.strip() for a in re.split(r",\s*|\s+and\s+", " ".join(authors.split())) if a.strip()]
    out = []
    for name in names:
        parts = name.split(" ")
        out.append((parts[-1], " ".join(parts[:-1])))
    return out


def oai_record_xml(record: dict, datestamp: str | None = None, set_spec: str | None = None) -> str:
    """One ``<record>`` in arXiv's OAI-PMH metadata format (http://arxiv.org/OAI/arXiv/)."""
    created = first_submitted(record)
    versions = record.get("versions") or []
    updated = _day(versions[-1]["created"]) if len(versions) > 1 else None
    primary = record["categories"].split()[0]
    archive = primary.split(".")[0]
    spec = set_spec or (
        archive if archive in ("cs", "math", "stat", "q-bio", "q-fin", "econ", "eess") else f"physics:{archive}"
    )
    authors = "".join(
        f"<author><keyname>{escape(k)}</keyname>" + (f"<forenames>{escape(f)}</forenames>" if f else "") + "</author>"
        for k, f in _split_authors(record.get("authors") or "")
    )
    opt = ""
    for tag, key in (
        ("comments", "comments"),
        ("report-no", "report-no"),
        ("journal-ref", "journal-ref"),
        ("doi", "doi"),
        ("license", "license"),
    ):
        if record.get(key):
            opt += f"<{tag}>{escape(record[key])}</{tag}>\n"
    return f"""<record>
<header>
 <identifier>oai:arXiv.org:{record["id"]}</identifier>
 <datestamp>{datestamp or updated or created}</datestamp>
 <setSpec>{spec}</setSpec>
</header>
<metadata>
 <arXiv xmlns="http://arxiv.org/OAI/arXiv/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://arxiv.org/OAI/arXiv/ http://arxiv.org/OAI/arXiv.xsd">
<id>{record["id"]}</id><created>{created}</created>{f"<updated>{updated}</updated>" if updated else ""}<authors>{authors}</authors><title>{escape(record["title"])}</title><categories>{escape(record["categories"])}</categories>
{opt}<abstract>{escape(record.get("abstract") or "")}</abstract>
</arXiv>
</metadata>
</record>
"""


def oai_deleted_record_xml(arxiv_id: str, datestamp: str, set_spec: str = "cs") -> str:
    return f"""<record>
<header status="deleted">
 <identifier>oai:arXiv.org:{arxiv_id}</identifier>
 <datestamp>{datestamp}</datestamp>
 <setSpec>{set_spec}</setSpec>
</header>
</record>
"""


def oai_envelope(inner: str, request_attrs: dict, base_url: str = "https://oaipmh.arxiv.org/oai") -> str:
    attrs = " ".join(f'{k}="{escape(str(v))}"' for k, v in request_attrs.items())
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">
<responseDate>2007-04-10T12:00:00Z</responseDate>
<request {attrs}>{base_url}</request>
{inner}
</OAI-PMH>
"""


def oai_list_records(
    records_xml: list[str],
    request_attrs: dict,
    *,
    token: str | None,
    cursor: int,
    complete_size: int,
    style: str = "oai2",
) -> str:
    """A ListRecords page. style "oai2": the token as export.arxiv.org/oai2 wrote it (cursor,
    completeListSize); "new": as arXiv's current service (github.com/arXiv/oaipmh) writes it
    (an expires attribute, and a bare <resumptionToken/> on the last page)."""
    if style == "new":
        tok = (
            f"<resumptionToken expires='2007-04-11T12:00:00Z'>{escape(token)}</resumptionToken>"
            if token is not None
            else "<resumptionToken/>"
        )
    elif token is not None:
        tok = f'<resumptionToken cursor="{cursor}" completeListSize="{complete_size}">{escape(token)}</resumptionToken>'
    else:  # the last page of a list: an empty token element
        tok = f'<resumptionToken cursor="{cursor}" completeListSize="{complete_size}"/>'
    return oai_envelope("<ListRecords>\n" + "".join(records_xml) + tok + "\n</ListRecords>", request_attrs)


def oai_error(code: str, message: str, request_attrs: dict | None = None) -> str:
    return oai_envelope(f'<error code="{code}">{escape(message)}</error>', request_attrs or {"verb": "ListRecords"})


class OaiRepository:
    """A small OAI-PMH ListRecords endpoint over records (dicts from load_0704()).

    It selects by datestamp (here: the day of v1, as for a new paper) within from/until and by
    set ('cs' -> cs.*, 'physics:hep-th' -> hep-th), pages ``page_size`` records with tokens
    '<listid>|<cursor>' like arXiv's, answers noRecordsMatch for an empty selection and
    badResumptionToken for a token it does not know. ``fail_from_page`` makes every page from that
    number on fail (HTTP 500), to simulate a harvest killed mid-way."""

    def __init__(self, records: list[dict], page_size: int = 10, style: str = "oai2"):
        self.records = records
        self.page_size = page_size
        self.style = style
        self.fail_from_page: int | None = None
        self.lists: dict[str, list[dict]] = {}

    def forget_tokens(self) -> None:
        self.lists.clear()

    def _select(self, q: dict) -> list[dict]:
        lo, hi, spec = q.get("from", "0000"), q.get("until", "9999"), q.get("set")
        out = []
        for r in self.records:
            day = first_submitted(r)
            if not lo <= day <= hi:
                continue
            cats = r["categories"].split()
            if spec:
                prefix = spec.split(":", 1)[1] if ":" in spec else spec + "."
                if not any(c.startswith(prefix) for c in cats):
                    continue
            out.append(r)
        return out

    def __call__(self, req: Request) -> Reply:
        q = req.query
        if q.get("verb") != "ListRecords":
            return Reply(200, oai_error("badVerb", "Illegal OAI verb"))
        if "resumptionToken" in q:
            if set(q) != {"verb", "resumptionToken"}:
                return Reply(200, oai_error("badArgument", "resumptionToken is an exclusive argument", q))
            list_id, _, cursor = q["resumptionToken"].partition("|")
            if list_id not in self.lists or not cursor.isdigit():
                return Reply(200, oai_error("badResumptionToken", "Invalid or expired resumptionToken", q))
            cursor, selected = int(cursor), self.lists[list_id]
        else:
            if q.get("metadataPrefix") != "arXiv":
                return Reply(200, oai_error("cannotDisseminateFormat", "unknown metadataPrefix", q))
            selected = self._select(q)
            if not selected:
                return Reply(
                    200,
                    oai_error(
                        "noRecordsMatch",
                        "The combination of the values of the from, until, "
                        "set and metadataPrefix arguments results in an empty list.",
                        q,
                    ),
                )
            list_id = str(6960524 + len(self.lists))
            self.lists[list_id] = selected
            cursor = 0
        page_no = cursor // self.page_size + 1
        if self.fail_from_page is not None and page_no >= self.fail_from_page:
            raise RuntimeError(f"page {page_no}: simulated failure")
        chunk = selected[cursor : cursor + self.page_size]
        nxt = cursor + self.page_size
        token = f"{list_id}|{nxt}" if nxt < len(selected) else None
        xml = [oai_record_xml(r, datestamp=first_submitted(r)) for r in chunk]
        return Reply(
            200, oai_list_records(xml, q, token=token, cursor=cursor, complete_size=len(selected), style=self.style)
        )


def make_settings(tmp_path, server: ArxivServer, **overrides):
    """Settings pointing at the local server, with tiny delays (tests must stay fast). A test with a
    database passes its URL: ``database_url=db_url`` (conftest.py; default: SQLite in tmp_path)."""
    from paperwire.config import load_settings

    values = dict(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'paperwire.db'}",
        arxiv_api_url=server.url("/api/query"),
        arxiv_oai_url=server.url("/oai"),
        http_delay=0.01,
        http_retries=2,
        http_timeout=2.0,
        harvest_overlap_days=2,
        extra={"http_max_wait": 2.0},
    )
    values.update(overrides)
    return load_settings(**values)

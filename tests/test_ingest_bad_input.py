"""Bad records in file inputs: each is reported with its line and a reason, counted, skipped, and the
ingest goes on. A real database (SQLite, then PostgreSQL), real records (arXiv 0704 snapshot sample, arXiv daily listings, seed page)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paperwire.sources.jsonl import JsonlSource
from paperwire.sources.runner import run_ingest
from paperwire.sources.snapshot import SnapshotSource
from paperwire.storage import Store

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SNAPSHOT = DATA / "arxiv-abs-0704" / "arxiv_0704_parsed.jsonl"
DAILY = DATA / "arxiv-daily" / "sample_1000.jsonl"
SEED = DATA / "seed-page" / "papers.jsonl"

pytestmark = pytest.mark.skipif(not SNAPSHOT.exists(), reason=f"shared test data not found at {DATA}")


def norm(s: str) -> str:
    return " ".join(s.split())


def real_lines(path: Path, n: int, start: int = 0) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for i, line in enumerate(f) if start <= i < start + n]


def dump(rec) -> bytes:
    return json.dumps(rec, ensure_ascii=False).encode()


class Builder:
    """Builds an input file line by line, remembering which lines are good and which are bad."""

    def __init__(self):
        self.lines: list[bytes] = []
        self.good: dict[str, dict] = {}  # id -> record, in file order
        self.bad: dict[int, str] = {}  # line number -> expected reason (a substring)
        self.bad_ids: set[str] = set()  # ids of bad records that must not be stored

    def add_good(self, rec: dict, key: str) -> None:
        self.lines.append(dump(rec))
        self.good[key] = rec

    def add_bad(self, raw: bytes, reason: str, bad_id: str | None = None) -> None:
        self.lines.append(raw)
        self.bad[len(self.lines)] = reason
        if bad_id:
            self.bad_ids.add(bad_id)

    def write(self, path: Path) -> Path:
        path.write_bytes(b"\n".join(self.lines) + b"\n")
        return path


def check_report(store: Store, report, b: Builder) -> None:
    """The report and the ingest_errors table list exactly the bad lines, each with its reason."""
    assert report.skipped == len(b.bad), report.errors
    got = {}
    for loc, reason in report.errors:
        assert loc.startswith("line "), loc
        got[int(loc.split()[1])] = reason
    assert sorted(got) == sorted(b.bad), f"reported lines {sorted(got)} != bad lines {sorted(b.bad)}"
    for line, expected in b.bad.items():
        assert expected.lower() in got[line].lower(), f"line {line}: expected {expected!r} in {got[line]!r}"
    assert sorted(store.papers.run_errors(report.run_id)) == sorted(report.errors)
    assert report.inserted == len(b.good)
    assert store.papers.count() == len(b.good)
    for bad_id in b.bad_ids:
        assert store.papers.get(bad_id) is None, f"bad record {bad_id} was stored"
    assert store.integrity_check() == "ok"
    run = store.conn.execute("SELECT status, counts FROM ingest_runs WHERE id=?", (report.run_id,)).fetchone()
    assert run[0] == "done" and json.loads(run[1])["skipped"] == len(b.bad)


# ---------------------------------------------------------------------------------------------------
# arXiv snapshot format


def snapshot_bad_file(tmp_path: Path) -> Builder:
    recs = real_lines(SNAPSHOT, 40)
    b = Builder()
    it = iter(recs)

    def good():
        r = next(it)
        b.add_good(r, r["id"])
        return r

    def mutated(new_id: str, **changes):
        r = dict(next(it))
        r["id"] = new_id
        for k, v in changes.items():
            if v is KeyError:
                r.pop(k, None)
            else:
                r[k] = v
        return r

    good()
    first = good()
    text = dump(mutated("0704.9001"))
    b.add_bad(text[: len(text) // 2], "malformed JSON")
    good()
    b.add_bad(dump(mutated("0704.9002", title=KeyError)), "missing title", "0704.9002")
    b.add_bad(dump(mutated("0704.9003", title="   \n ")), "missing title", "0704.9003")
    good()
    b.add_bad(dump(mutated("not-an-id")), "invalid id")
    b.add_bad(dump(mutated("0704.00x1")), "invalid id")
    b.add_bad(dump(mutated("foo:bar.baz")), "invalid arXiv id", "foo:bar.baz")
    b.add_bad(dump(mutated(None)), "missing id")
    good()
    # invalid UTF-8 inside the title
    r = mutated("0704.9004", title="Spectral \u00e9tude of something")
    b.add_bad(dump(r).replace("\u00e9".encode(), b"\xff\xfe"), "invalid UTF-8", "0704.9004")
    # latin-1 bytes for the whole line
    r = mutated("0704.9005", title="Fermi surface \u00e0 la Landau")
    b.add_bad(json.dumps(r, ensure_ascii=False).encode("latin-1", "replace"), "invalid UTF-8", "0704.9005")
    good()
    # a 1 MB abstract: over the 20,000-character limit, skipped whole, not truncated
    big = next(it)
    b.add_bad(
        dump(dict(big, id="0704.9006", abstract=(big["abstract"] + " ") * (1_000_000 // len(big["abstract"])))),
        "abstract too long",
        "0704.9006",
    )
    # a 5 MB line: longer than the reader ever holds
    b.add_bad(dump(dict(big, id="0704.9007", abstract="x " * 2_600_000)), "line longer than", "0704.9007")
    good()
    # duplicates: the same line again, and the same id with another title (the first one stays)
    b.add_bad(dump(first), "duplicate")
    b.add_bad(dump(dict(first, title="A different title for the same id")), "duplicate")
    good()
    b.add_bad(dump([first]), "expected a JSON object, got list")
    b.add_bad(b'"just a string"', "expected a JSON object, got str")
    b.add_bad(b"null", "expected a JSON object, got NoneType")
    good()
    # wrong types
    b.add_bad(dump(mutated("0704.9010", title=42)), "title must be a string", "0704.9010")
    b.add_bad(dump(mutated("0704.9011", title=["a", "list"])), "title must be a string", "0704.9011")
    b.add_bad(dump(mutated("0704.9012", abstract={"text": "x"})), "abstract must be a string", "0704.9012")
    b.add_bad(dump(mutated("0704.9013", authors=7, authors_parsed=None)), "authors must be a string", "0704.9013")
    b.add_bad(dump(mutated("0704.9014", authors_parsed=[[1, 2, 3]])), "authors_parsed", "0704.9014")
    b.add_bad(dump(mutated("0704.9015", categories=["hep-ph"])), "categories must be", "0704.9015")
    b.add_bad(dump(mutated("0704.9016", versions={"v1": "x"})), "versions must be a list", "0704.9016")
    b.add_bad(
        dump(mutated("0704.9017", versions=[{"version": "v1", "created": "yesterday-ish"}])),
        "invalid date",
        "0704.9017",
    )
    b.add_bad(dump(mutated("0704.9018", doi=10.1103)), "doi must be a string", "0704.9018")
    b.add_bad(dump(mutated(704)), "invalid id: must be a string")
    good()
    # characters that cannot be stored: NUL, a lone surrogate (valid JSON escape, invalid Unicode)
    b.add_bad(dump(mutated("0704.9019", abstract="bad \x00 byte")), "invalid characters", "0704.9019")
    b.add_bad(
        dump(mutated("0704.9020")).replace(b'"title": "', b'"title": "\\ud800'), "invalid characters", "0704.9020"
    )
    b.add_bad(
        dump(mutated("0704.9021")).replace(b'"categories": "', b'"categories": "\\udc80 '),
        "invalid characters",
        "0704.9021",
    )
    # JSON the parser refuses with other exceptions than JSONDecodeError
    b.add_bad(b'{"id": "0704.9022", "n": ' + b"9" * 5000 + b"}", "malformed JSON")
    b.add_bad(b"[" * 50_000 + b"]" * 50_000, "malformed JSON")
    b.lines.append(b"")  # blank lines are neither papers nor errors
    b.lines.append(b"   ")
    good()
    for _ in range(3):
        good()
    return b


@pytest.mark.parametrize("batch_size", [500, 4], ids=["one-batch", "many-batches"])
def test_snapshot_bad_records_are_reported_and_skipped(store, tmp_path, batch_size):
    b = snapshot_bad_file(tmp_path)
    path = b.write(tmp_path / "snapshot.jsonl")
    report = run_ingest(store, SnapshotSource(path), progress=False, batch_size=batch_size)
    check_report(store, report, b)
    # the good records around the bad ones are stored intact
    for pid, rec in b.good.items():
        p = store.papers.get(pid)
        assert p is not None, pid
        assert p.title == norm(rec["title"])
        assert p.abstract == norm(rec["abstract"])
        assert p.categories == rec["categories"].split()
        assert p.authors and all(a.split()[-1] in rec["authors"] for a in p.authors)
        assert p.version == len(rec["versions"])
        assert p.doi == rec["doi"] and p.journal_ref == rec["journal-ref"]
        assert p.submitted.startswith(("2007-03", "2007-04"))  # the first version's date, in UTC
    # the duplicate did not overwrite the first occurrence
    first = next(r for k, r in b.good.items() if k == list(b.good)[1])
    assert store.papers.get(first["id"]).title == norm(first["title"])
    assert report.summary().count("skipped line") == min(20, len(b.bad))


def test_snapshot_only_bad_lines(store, tmp_path):
    """A file of nothing but bad lines: a completed run, no papers, every line reported."""
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{not json\n[1, 2]\n\xff\xfe\n{"id": "0704.0001"}\n')
    report = run_ingest(store, SnapshotSource(path), progress=False)
    assert report.skipped == 4 and report.inserted == 0
    assert [loc for loc, _ in report.errors] == ["line 1", "line 2", "line 3", "line 4"]
    assert store.papers.count() == 0
    assert len(store.papers.run_errors(report.run_id)) == 4


# ---------------------------------------------------------------------------------------------------
# plain JSON lines


def jsonl_bad_file() -> Builder:
    recs = real_lines(DAILY, 30)
    seed = real_lines(SEED, 5)
    b = Builder()
    it = iter(recs)

    def good():
        r = next(it)
        b.add_good(r, r["id"])
        return r

    def mutated(new_id, **changes):
        r = dict(next(it))
        r["id"] = new_id
        for k, v in changes.items():
            if v is KeyError:
                r.pop(k, None)
            else:
                r[k] = v
        return r

    first = good()
    good()
    line = dump(mutated("2503.99001"))
    b.add_bad(line[:-10], "malformed JSON")
    b.add_bad(dump(mutated("2503.99002", title=KeyError)), "missing title", "2503.99002")
    b.add_bad(dump(mutated("2503.99003", title="")), "missing title", "2503.99003")
    good()
    b.add_bad(dump(mutated("has spaces in it")), "invalid id")
    b.add_bad(dump(mutated("arXiv:nonsense")), "invalid id")
    b.add_bad(dump(mutated(["2503.99004"])), "invalid id: must be a string")
    b.add_bad(dump(mutated(True)), "invalid id: must be a string")
    good()
    b.add_bad(
        dump(mutated("2503.99005", summary="r\u00e9sum\u00e9")).replace("\u00e9".encode(), b"\xe9"),
        "invalid UTF-8",
        "2503.99005",
    )
    b.add_bad(dump(mutated("2503.99006", summary="word " * 200_000)), "abstract too long", "2503.99006")
    good()
    b.add_bad(dump(first), "duplicate")
    b.add_bad(dump(dict(first, id=first["id"] + "v3", title="Same paper, other version, same file")), "duplicate")
    b.add_bad(dump([first, first]), "expected a JSON object")
    good()
    b.add_bad(dump(mutated("2503.99007", authors=17)), "authors must be a list", "2503.99007")
    b.add_bad(dump(mutated("2503.99008", authors=[{"first": "A"}])), "authors must be a list", "2503.99008")
    b.add_bad(dump(mutated("2503.99009", categories={"cs": 1})), "categories must be a list", "2503.99009")
    b.add_bad(dump(mutated("2503.99010", listing_date="18/03/2025")), "invalid listing date", "2503.99010")
    b.add_bad(dump(mutated("2503.99011", abs="javascript:alert(1)")), "abs_url must be an http", "2503.99011")
    b.add_bad(dump(mutated("2503.99012", published="not a date")), "invalid date", "2503.99012")
    b.add_bad(dump(mutated("2503.99013", comment=["x"])), "comments must be a string", "2503.99013")
    good()
    # lines without ids (the seed page): ids from the title, so the same title twice is a duplicate
    for r in seed[:3]:
        b.lines.append(dump(r))
        b.good[r["title"]] = r
    b.add_bad(dump(dict(seed[0], abstract="another abstract")), "duplicate")
    good()
    return b


@pytest.mark.parametrize("batch_size", [500, 3], ids=["one-batch", "many-batches"])
def test_jsonl_bad_records_are_reported_and_skipped(store, tmp_path, batch_size):
    b = jsonl_bad_file()
    path = b.write(tmp_path / "listing.jsonl")
    report = run_ingest(store, JsonlSource(path), progress=False, batch_size=batch_size)
    check_report(store, report, b)
    stored = {p.title: p for batch in store.papers.iter() for _, p in batch}
    for key, rec in b.good.items():
        p = stored.get(norm(rec["title"]))
        assert p is not None, key
        assert p.abstract == norm(rec.get("summary") or rec.get("abstract") or "")
        if "id" in rec:
            assert p.id == rec["id"]
            assert p.authors == rec["authors"] and p.categories == rec["categories"]
            assert p.announced == rec["listing_date"] and p.abs_url == rec["abs"]
        else:
            assert p.id.startswith("local:")

"""The `paperwire` command end to end, in subprocesses, on a real database (each backend)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SEED = SHARED / "seed-page" / "papers.jsonl"
SNAPSHOT = SHARED / "arxiv-abs-0704" / "arxiv_0704_parsed.jsonl"

needs_shared = pytest.mark.skipif(not SEED.exists(), reason=f"shared test data not found at {SHARED}")


def paperwire(tmp_path: Path, db_url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, PAPERWIRE_DATABASE_URL=db_url, PAPERWIRE_DATA_DIR=str(tmp_path), HF_HUB_OFFLINE="1")
    env.pop("PAPERWIRE_INDEX_DIR", None)  # next to a SQLite file, or in the data dir
    proc = subprocess.run(
        [sys.executable, "-m", "paperwire.cli", *args], env=env, capture_output=True, text=True, timeout=600
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"paperwire {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


@needs_shared
def test_ingest_then_search_by_meaning_and_words(tmp_path, db_url):
    out = paperwire(tmp_path, db_url, "ingest", "jsonl", "-q", str(SEED)).stdout
    assert "64 new" in out
    again = paperwire(tmp_path, db_url, "ingest", "jsonl", "-q", str(SEED)).stdout
    assert "0 new" in again and "64 unchanged" in again

    lines = paperwire(
        tmp_path, db_url, "search", "privacy-preserving data release", "--json", "--limit", "5"
    ).stdout.splitlines()
    hits = [json.loads(line) for line in lines]
    assert [h["rank"] for h in hits] == [1, 2, 3, 4, 5]
    assert "privacy" in hits[0]["title"].lower()

    table = paperwire(tmp_path, db_url, "search", "self-repellent random walks", "--limit", "3").stdout
    assert "Self-Repellent" in table.splitlines()[1]


@needs_shared
def test_bad_lines_are_reported_and_listed_by_errors_command(tmp_path, db_url):
    bad = tmp_path / "mixed.jsonl"
    good = SEED.read_text().splitlines()[:3]
    bad.write_text("\n".join([good[0], "{not json", json.dumps({"abstract": "no title"}), good[1], good[2]]) + "\n")
    out = paperwire(tmp_path, db_url, "ingest", "jsonl", "-q", "--no-embed", str(bad)).stdout
    assert "3 new" in out and "2 skipped" in out
    assert "line 2: malformed JSON" in out and "line 3: missing title" in out
    run_id = out.split("run ")[1].split(")")[0]
    listed = paperwire(tmp_path, db_url, "errors", run_id).stdout.splitlines()
    assert listed == [
        "line 2\tmalformed JSON: Expecting property name enclosed in double quotes at column 2",
        "line 3\tmissing title",
    ]


@needs_shared
def test_snapshot_ingest_and_status(tmp_path, db_url):
    out = paperwire(tmp_path, db_url, "ingest", "snapshot", "-q", "--no-embed", str(SNAPSHOT)).stdout
    assert "1,001 new" in out
    status = paperwire(tmp_path, db_url, "status").stdout
    assert "papers:     1,001" in status


def test_unknown_database_url_says_what_to_do(tmp_path):
    env = dict(os.environ, PAPERWIRE_DATABASE_URL="mysql://x")
    proc = subprocess.run([sys.executable, "-m", "paperwire.cli", "status"], env=env, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "sqlite:///" in proc.stderr


@pytest.mark.skipif(not SNAPSHOT.exists(), reason=f"shared test data not found at {SHARED}")
def test_ingest_oai_through_the_cli_against_a_local_oai_server(tmp_path, db_url):
    from arxiv_server import ArxivServer, OaiRepository, first_submitted, load_0704

    records = load_0704()
    days = sorted({first_submitted(r) for r in records})
    expected = [
        r
        for r in records
        if days[0] <= first_submitted(r) <= days[1] and any(c.startswith("hep-") for c in r["categories"].split())
    ]
    assert expected, "the sample should hold hep-* papers on its first two days"
    with ArxivServer() as srv:
        srv.route("/oai", OaiRepository(records, page_size=7))
        env = dict(
            os.environ,
            PAPERWIRE_DATABASE_URL=db_url,
            PAPERWIRE_DATA_DIR=str(tmp_path),
            PAPERWIRE_ARXIV_OAI_URL=srv.url("/oai"),
            PAPERWIRE_HTTP_DELAY="0.01",
        )
        argv = [
            sys.executable,
            "-m",
            "paperwire.cli",
            "ingest",
            "oai",
            "--set",
            "physics:hep-",
            "--from",
            days[0],
            "--until",
            days[1],
            "--no-embed",
            "-q",
        ]
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert f"{len(expected):,} new" in proc.stdout
        pages = [r for r in srv.requests("/oai")]
        assert len(pages) == -(-len(expected) // 7)
        # a bad date is a usage error, not a traceback
        bad = subprocess.run(argv[:5] + ["--from", "2025-13-01"], env=env, capture_output=True, text=True)
        assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr and "Traceback" not in bad.stderr


@needs_shared
def test_an_input_that_cannot_be_read_is_reported_and_the_others_kept(tmp_path, db_url):
    """ingest goes on past an input that fails as a whole (a truncated gzip file): it is named, with
    the next step, what the other inputs stored is kept and indexed, and the exit status is 1."""
    import gzip

    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(gzip.compress(SEED.read_bytes())[:200])  # cut off mid-stream
    proc = paperwire(tmp_path, db_url, "ingest", "jsonl", "-q", "--no-embed", str(broken), str(SEED), check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "error: broken.jsonl.gz: Compressed file ended" in proc.stderr
    assert "run the same command again to resume" in proc.stderr
    assert "64 new" in proc.stdout and "Traceback" not in proc.stderr
    hits = paperwire(tmp_path, db_url, "search", "self-repellent random walks", "--json", "--limit", "1").stdout
    assert "Self-Repellent" in json.loads(hits.splitlines()[0])["title"]  # the good input was indexed


HF_JSONL = SHARED / "hf-daily-papers" / "hf_daily_papers_normalized.jsonl.gz"


@pytest.mark.skipif(not HF_JSONL.exists(), reason=f"Hugging Face test data not found at {HF_JSONL}")
def test_import_hf_of_a_cut_short_file_says_so_and_a_complete_one_finishes_it(tmp_path, db_url):
    """A .jsonl.gz cut off mid-stream: a clear error (no traceback), exit 1, only whole batches
    stored; importing the complete file then stores every paper exactly once."""
    import gzip

    lines = gzip.open(HF_JSONL, "rt", encoding="utf-8").read().splitlines()[:300]
    whole = gzip.compress(("\n".join(lines) + "\n").encode())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    proc = paperwire(tmp_path, db_url, "import-hf", "-q", "--no-embed", "--batch-size", "50", str(cut), check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert (
        "error: " in proc.stderr
        and "damaged or cut short" in proc.stderr
        and "import the complete file again" in proc.stderr
        and "Traceback" not in proc.stderr
        and "Aborted" not in proc.stderr
    ), proc.stderr

    def papers() -> int:
        out = paperwire(tmp_path, db_url, "status").stdout
        return int(next(line for line in out.splitlines() if line.startswith("papers:")).split()[1].replace(",", ""))

    stored = papers()
    assert 0 < stored < 300 and stored % 50 == 0  # whole batches only
    complete = tmp_path / "complete.jsonl.gz"
    complete.write_bytes(whole)
    paperwire(tmp_path, db_url, "import-hf", "-q", "--no-embed", str(complete))
    assert papers() == 300 - sum(1 for line in lines if not line.strip())  # every paper once

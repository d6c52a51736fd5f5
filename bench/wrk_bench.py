"""Web throughput under wrk: `paperwire serve` on a built database, home page and search.

    .venv/bin/python bench/wrk_bench.py                                  # the 1M database, 1 and 2 workers
    .venv/bin/python bench/wrk_bench.py --workers 1,2,3 --duration 20 --connections 32
    .venv/bin/python bench/wrk_bench.py --data-dir bench/out/scale_3M --label 3M
    .venv/bin/python bench/wrk_bench.py --report                         # the table from earlier runs

For each worker count: start `paperwire serve --workers N` (no background indexing, no mail
scheduler: the site alone), wait until the home page answers, warm up, then run wrk against
  home     GET /                        (anonymous: no cookies, as a first-time visitor)
  search   GET /search?q=...            a Lua script rotating over the ~300 real queries of
                                        bench/scale.py (titles, keywords, SciFact claims), each
                                        wrk thread starting at another offset
  searchnew GET /search?q=...           ~10,000 distinct real-title queries, none repeated in a run
                                        and none in the rotating set: every request is new
                                        (query embedding computed, page rendered: the cold case)
  search1  GET /search?q=<one query>    (optional, --paths): one URL repeated
Before 'search', --warmup seconds of wrk on the same rotating queries (not recorded) fill each
worker's query-vector and page caches: 'search' is the steady state for a set of popular queries.
and print req/s, latency p50/p99 and errors (non-2xx/3xx answers + socket errors) with the number
of CPU cores and the load average. wrk runs on the same machine, so it takes CPU from the server:
the figures are a floor for the server alone. Results: bench/out/wrk/<label>_w<N>_<path>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote_plus

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import OUT, ROOT, machine, read_json, write_json  # noqa: E402

WRK_OUT = OUT / "wrk"
LUA = r"""
-- rotate over the paths in %(paths)s; each thread starts at its own offset
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
local counter = 0
local nthreads = 0
function setup(thread)
  thread:set("offset", nthreads * 37)
  nthreads = nthreads + 1
end
function init(args)
  counter = tonumber(offset) or 0
end
function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def query_paths(n_queries: int) -> list[str]:
    import scale

    return ["/search?q=" + quote_plus(item["q"]) for item in scale.build_queries(10_000, n_queries // 3)]


def new_query_paths(n: int, seed: int = 1) -> list[str]:
    """``n`` distinct queries never in the rotating set: real titles (first 10k corpus lines, the
    real arXiv records) cut to 3-9 words, shuffled. With these every request is new to the server
    (query embedding computed, page rendered)."""
    import random

    import scale

    rng = random.Random(seed)
    seen = {item["q"] for item in scale.build_queries(10_000, 100)}
    out = []
    with open(scale.corpus_path(10_000)) as f:
        for line in f:
            words = re.sub(r"[^\w\s-]", " ", json.loads(line)["title"]).lower().split()
            q = " ".join(words[: rng.randint(3, 9)])
            if q and q not in seen:
                seen.add(q)
                out.append("/search?q=" + quote_plus(q))
    rng.shuffle(out)
    return out[:n]


def start_server(data_dir: Path, port: int, workers: int, env_extra: dict) -> subprocess.Popen:
    env = dict(
        os.environ,
        PAPERWIRE_DATA_DIR=str(data_dir),
        PAPERWIRE_DATABASE_URL=f"sqlite:///{data_dir / 'paperwire.db'}",
        PAPERWIRE_BACKGROUND_INDEXING="0",
        PAPERWIRE_SCHEDULER="0",
        PAPERWIRE_GITHUB_REFRESH_MINUTES="0",
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        **env_extra,
    )
    cmd = [
        str(ROOT / ".venv" / "bin" / "paperwire"),
        "serve",
        "--port",
        str(port),
        "--no-background",
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(1)
    stop_server(proc)
    raise SystemExit("server did not answer within 300 s")


def stop_server(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: the uvicorn supervisor and its workers
        proc.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def warm(port: int, paths: list[str]) -> None:
    """Every worker: the model loaded, the indexes touched (not measured)."""
    for p in paths:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{p}", timeout=60).read()
        except OSError:
            pass


_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text.strip())
    return float(m.group(1)) * _UNIT[m.group(2)]


def parse_wrk(out: str) -> dict:
    res = {
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
    }
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", out, re.M)
        if m:
            res[f"p{pct}_ms"] = _ms(m.group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["non_2xx_3xx"] = int(non2xx.group(1)) if non2xx else 0
    res["socket_errors"] = sum(int(x) for x in sock.groups()) if sock else 0
    res["errors"] = res["non_2xx_3xx"] + res["socket_errors"]
    return res


def run_wrk(port: int, path_or_script: str, args, script: Path | None = None) -> dict:
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency", "--timeout", "10s"]
    if script:
        cmd += ["-s", str(script)]
    cmd.append(f"http://127.0.0.1:{port}{path_or_script}")
    load0 = os.getloadavg()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    res = parse_wrk(out)
    res.update(loadavg_start=load0, loadavg_end=os.getloadavg(), wrk=" ".join(cmd), raw=out)
    return res


def report(label: str | None = None) -> str:
    mach = read_json(OUT / "machine.json") or machine()
    rows = []
    for f in sorted(WRK_OUT.glob("*.json")):
        r = read_json(f)
        if label and r.get("label") != label:
            continue
        rows.append(r)
    lines = [
        f"Machine: {os.cpu_count()} CPU cores ({mach.get('cpu', '?')}), {mach.get('ram_gib', '?')} GiB RAM; "
        "wrk on the same machine.",
        "",
        "| corpus | variant | workers | page | req/s | p50 | p99 | errors | wrk threads/conns/s | load avg (1 min) start→end |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(rows, key=lambda r: (r["label"], r.get("variant", ""), r["path"], r["workers"])):
        lines.append(
            f"| {r['label']} | {r.get('variant', '')} | {r['workers']} | {r['path']} | {r['requests_per_s']:,.0f} | "
            f"{r.get('p50_ms', 0):.1f} ms | {r.get('p99_ms', 0):.1f} ms | {r['errors']} | "
            f"{r['threads']}/{r['connections']}/{r['duration']} | "
            f"{r['loadavg_start'][0]:.1f}→{r['loadavg_end'][0]:.1f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, default=OUT / "scale_1M", help="holds paperwire.db (+ .index)")
    ap.add_argument("--label", default="1M")
    ap.add_argument("--variant", default="", help="a name for this configuration (e.g. 'no cache')")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--paths", default="home,search,searchnew", help="home, search, searchnew, search1")
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument(
        "--warmup", type=int, default=15, help="seconds of unrecorded wrk on the rotating queries before 'search'"
    )
    ap.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server (repeatable)")
    ap.add_argument(
        "--prewarm-db",
        action="store_true",
        help="read the database file once first, so it is in the OS page cache (never-seen queries "
        "fetch random papers: on a cold cache they wait on the disk; py-spy showed 44%% of a "
        "worker's samples in SQLite reads then)",
    )
    ap.add_argument("--report", action="store_true")
    args = ap.parse_args(argv)
    if args.report:
        print(report())
        return
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    if not (args.data_dir / "paperwire.db").exists():
        raise SystemExit(f"{args.data_dir / 'paperwire.db'}: no database (build it with bench/scale.py)")
    WRK_OUT.mkdir(parents=True, exist_ok=True)
    qpaths = query_paths(args.queries)
    paths_file = WRK_OUT / "search_paths.txt"
    paths_file.write_text("\n".join(qpaths) + "\n")
    script = WRK_OUT / "rotate.lua"
    script.write_text(LUA % {"paths": paths_file})
    new_file = WRK_OUT / "search_new_paths.txt"
    new_paths = new_query_paths(20_000)
    new_file.write_text("\n".join(new_paths) + "\n")
    new_script = WRK_OUT / "new.lua"
    new_script.write_text(LUA.replace("nthreads * 37", "nthreads * 5000") % {"paths": new_file})
    env_extra = dict(e.split("=", 1) for e in args.env)
    if args.prewarm_db:
        db = args.data_dir / "paperwire.db"
        t0 = time.monotonic()
        with open(db, "rb") as f:
            while f.read(16 << 20):
                pass
        print(
            f"read {db} ({db.stat().st_size / 2**30:.1f} GiB) into the page cache in {time.monotonic() - t0:.0f} s",
            file=sys.stderr,
        )
    for workers in [int(w) for w in args.workers.split(",")]:
        port = free_port()
        proc = start_server(args.data_dir, port, workers, env_extra)
        try:
            warm(port, ["/"] * 4 * workers + qpaths[-8 * workers :])
            for path in args.paths.split(","):
                if path == "home":
                    res = run_wrk(port, "/", args)
                elif path == "search":  # after a warm-up pass: the steady state for a set of popular queries
                    if args.warmup:
                        run_wrk(port, "/", argparse.Namespace(**dict(vars(args), duration=args.warmup)), script=script)
                    res = run_wrk(port, "/", args, script=script)
                elif path == "searchnew":  # every request a query the server has not seen
                    res = run_wrk(port, "/", args, script=new_script)
                elif path == "search1":
                    res = run_wrk(port, qpaths[0], args)
                else:
                    raise SystemExit(f"unknown path {path!r}")
                res.update(
                    label=args.label,
                    variant=args.variant,
                    workers=workers,
                    path=path,
                    cores=os.cpu_count(),
                    threads=args.threads,
                    connections=args.connections,
                    duration=args.duration,
                    distinct_urls={"search": len(qpaths), "searchnew": len(new_paths)}.get(path, 1),
                    env=env_extra,
                    warmup_s=args.warmup if path == "search" else 0,
                    finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                )
                slug = re.sub(r"\W+", "-", args.variant).strip("-") or "default"
                write_json(WRK_OUT / f"{args.label}_{slug}_w{workers}_{path}.json", res)
                print(
                    f"{args.label} {args.variant or '-'} workers={workers} {path}: {res['requests_per_s']:.0f} req/s, "
                    f"p50 {res.get('p50_ms', 0):.1f} ms, p99 {res.get('p99_ms', 0):.1f} ms, errors {res['errors']}, "
                    f"load {res['loadavg_start'][0]:.1f}->{res['loadavg_end'][0]:.1f}",
                    flush=True,
                )
        finally:
            stop_server(proc)
    print(report(args.label))


if __name__ == "__main__":
    main()

"""The storage hot paths of two source trees, alternating, in one script: ingest of 100k papers
(bench/scale.py's ingest step) and a digest run for 10k subscribers, composed and delivered to a
local SMTP sink (bench/digest_delivery.py). Used to check that a refactoring does not slow them.

    .venv/bin/python bench/compare_trees.py /path/to/base-checkout [--rounds 3]

Each tree runs its own bench scripts with its own ``src/`` first on PYTHONPATH; both use this
checkout's virtualenv. Prints the medians of each tree and the ratio new / base per round.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECONDS = re.compile(r"\| (compose \+ record \+ queue|deliver to local SMTP sink) \| ([\d,.]+) s")


def run(tree: Path, args: list[str]) -> str:
    env = dict(os.environ, PYTHONPATH=str(tree / "src"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    res = subprocess.run(
        [sys.executable, *args], cwd=tree, env=env, capture_output=True, text=True, check=False, timeout=3600
    )
    if res.returncode != 0:
        raise SystemExit(f"{tree}: {' '.join(args)} failed:\n{res.stderr[-3000:]}")
    return res.stdout


def corpus(tree: Path) -> None:
    """Both trees ingest the same generated corpus (made once, by this tree's gen_corpus.py)."""
    mine = ROOT / "bench" / "out" / "corpus_100000.jsonl"
    if not mine.exists():
        mine.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "bench/gen_corpus.py", "100000", str(mine)], cwd=ROOT, check=True)
    theirs = tree / "bench" / "out" / mine.name
    if not theirs.exists():
        theirs.parent.mkdir(parents=True, exist_ok=True)
        theirs.symlink_to(mine)


def measure(tree: Path) -> dict[str, float]:
    corpus(tree)
    run(tree, ["bench/scale.py", "--step", "ingest", "--n", "100000"])
    # the step writes bench/out/scale_100k/ingest.json (run_100000/ in later trees)
    out_dir = tree / "bench" / "out"
    found_json = [
        p for p in (out_dir / "scale_100k" / "ingest.json", out_dir / "run_100000" / "ingest.json") if p.exists()
    ]
    ingest = json.loads(max(found_json, key=lambda p: p.stat().st_mtime).read_text())["seconds"]
    out = run(tree, ["bench/digest_delivery.py", "-n", "10k"])  # each tree's own bench/out
    found = {k: float(v.replace(",", "")) for k, v in SECONDS.findall(out)}
    return {
        "ingest 100k": ingest,
        "compose 10k": found["compose + record + queue"],
        "deliver": found["deliver to local SMTP sink"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("base", type=Path, help="a checkout of the baseline commit")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    trees = {"base": args.base.resolve(), "new": ROOT}
    results: dict[str, list[dict[str, float]]] = {"base": [], "new": []}
    for r in range(args.rounds):
        for name, tree in trees.items():
            results[name].append(measure(tree))
            print(f"round {r + 1} {name}: {results[name][-1]}", file=sys.stderr, flush=True)
    print(f"\n{os.cpu_count()} CPU cores, {args.rounds} alternating rounds; base {trees['base']}\n")
    print("| hot path | base median | new median | ratio of medians | median of per-round ratios |")
    print("|---|---:|---:|---:|---:|")
    for key in results["base"][0]:
        b = [x[key] for x in results["base"]]
        n = [x[key] for x in results["new"]]
        per_round = statistics.median(y / x for x, y in zip(b, n, strict=True))
        mb, mn = statistics.median(b), statistics.median(n)
        print(f"| {key} | {mb:.1f} s | {mn:.1f} s | {mn / mb:.2f} | {per_round:.2f} |")


if __name__ == "__main__":
    main()

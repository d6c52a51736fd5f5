"""Lighthouse accessibility scores of the main pages of a running Paperwire, with Debian's Chromium.

Signs a reader in (a session in the site's own database, so /library and /for-you show their
lists; it saves two papers to that reader's library when it is empty), then runs Lighthouse's
accessibility category on each page and prints a table. Needs the lighthouse command
(``npm install lighthouse`` in some directory; pass --lighthouse PATH/node_modules/.bin/lighthouse).

    PAPERWIRE_DATA_DIR=... .venv/bin/python scripts/lighthouse_a11y.py http://127.0.0.1:8000 --lighthouse lighthouse
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path

PAGES = [
    "/",
    "/search?q=differential+privacy",
    "/papers/2503.20846",
    "/trending",
    "/subscribe",
    "/signin",
    "/library",
    "/for-you",
]
SCHEMES = {"light": "--blink-settings=preferredColorScheme=1", "dark": "--blink-settings=preferredColorScheme=0"}


def session_cookie(email: str) -> str:
    from paperwire.config import load_settings
    from paperwire.library.core import save
    from paperwire.storage import open_store
    from paperwire.web.session import SESSION_COOKIE, new_session

    store = open_store(load_settings().database_url)
    try:
        account = store.accounts.ensure(email, None)
        if not store.library.count(account.id):
            for paper_id in ("2503.20846", "2503.22379"):
                try:
                    save(store, account.id, paper_id)
                except (KeyError, ValueError):
                    pass
        return f"{SESSION_COOKIE}={new_session(store, account.id)}"
    finally:
        store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("base", nargs="?", default="http://127.0.0.1:8000")
    ap.add_argument("--lighthouse", default="lighthouse")
    args = ap.parse_args()
    cookie = session_cookie("lighthouse@example.org")
    env = dict(os.environ, CHROME_PATH="/usr/bin/chromium")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in PAGES:
            scores = {}
            for scheme, flag in SCHEMES.items():
                out = Path(tmp) / "report.json"
                subprocess.run(
                    [
                        args.lighthouse,
                        args.base.rstrip("/") + path,
                        "--only-categories=accessibility",
                        "--output=json",
                        f"--output-path={out}",
                        "--quiet",
                        f"--extra-headers={json.dumps({'Cookie': cookie})}",
                        f"--chrome-flags=--headless=new --no-sandbox --disable-gpu {flag}",
                    ],
                    check=True,
                    env=env,
                )
                report = json.loads(out.read_text())
                cat = report["categories"]["accessibility"]
                failed = [a for a in cat["auditRefs"] if report["audits"][a["id"]]["score"] == 0]
                scores[scheme] = (round(cat["score"] * 100), [a["id"] for a in failed])
            rows.append((path, scores))
            print(path, scores, flush=True)
    print()
    print("| page | light | dark | failing audits |")
    print("|---|---:|---:|---|")
    for path, s in rows:
        failing = sorted(set(s["light"][1]) | set(s["dark"][1]))
        print(f"| `{path}` | {s['light'][0]} | {s['dark'][0]} | {', '.join(failing) or '-'} |")


if __name__ == "__main__":
    main()

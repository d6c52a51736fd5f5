"""Screenshots of the paper lists for docs/: a 1280x1000 desktop window and a 390-px phone, the
day list (light theme) and trending (dark theme), taken with Debian's Chromium from a running
Paperwire (``paperwire serve --demo``), with the number of cards fully in view.

    .venv/bin/python scripts/screenshots.py [http://127.0.0.1:8000] [--out docs]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

SHOTS = [  # file, path, (width, height), colour scheme, phone
    ("screenshot-day-desktop.png", "/", (1280, 1000), "light", False),
    ("screenshot-trending-desktop.png", "/trending", (1280, 1000), "dark", False),
    ("screenshot-day-phone.png", "/", (390, 844), "light", True),
    ("screenshot-trending-phone.png", "/trending", (390, 844), "dark", True),
]
VISIBLE = """() => [...document.querySelectorAll('article.card')].filter(c => {
    const r = c.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }).length"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("base", nargs="?", default="http://127.0.0.1:8000")
    ap.add_argument("--out", type=Path, default=Path("docs"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"])
        for name, path, (w, h), scheme, phone in SHOTS:
            ctx = browser.new_context(
                viewport={"width": w, "height": h},
                color_scheme=scheme,
                is_mobile=phone,
                has_touch=phone,
                device_scale_factor=1,
            )
            page = ctx.new_page()
            page.goto(args.base.rstrip("/") + path)
            page.wait_for_function("!document.documentElement.classList.contains('tex-pending')")
            page.evaluate("document.fonts.ready")
            page.screenshot(path=str(args.out / name))
            print(f"{name}: {w}x{h} {scheme}, {page.evaluate(VISIBLE)} cards fully visible")
            ctx.close()
        browser.close()


if __name__ == "__main__":
    main()

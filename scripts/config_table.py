"""Rewrite the README's configuration table from the settings declared in src/paperwire/config.py.

    python scripts/config_table.py           # rewrite README.md in place
    python scripts/config_table.py --check   # exit 1 when README.md is out of date

The table sits between the two marker comments (BEGIN / END); nothing else in the README changes.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from paperwire.config import markdown_table  # noqa: E402

README = ROOT / "README.md"
BEGIN = "<!-- BEGIN configuration table: generated from src/paperwire/config.py by scripts/config_table.py -->"
END = "<!-- END configuration table -->"


def with_table(text: str) -> str:
    head, sep, rest = text.partition(BEGIN)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise SystemExit(f"{README}: the markers {BEGIN!r} and {END!r} are missing")
    return f"{head}{BEGIN}\n{markdown_table()}{END}{tail}"


def main() -> int:
    text = README.read_text(encoding="utf-8")
    new = with_table(text)
    if "--check" in sys.argv[1:]:
        if new != text:
            print(f"{README} is out of date; run: python scripts/config_table.py", file=sys.stderr)
            return 1
        return 0
    if new != text:
        README.write_text(new, encoding="utf-8")
        print(f"updated {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Module boundaries: no import cycle among paperwire's modules (lazy, function-level imports
count too) and no module outside web/ importing the web layer (scripts/import_cycles.py)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "import_cycles.py"


def _checker():
    spec = importlib.util.spec_from_file_location("import_cycles", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_paperwire_has_no_import_cycle_and_no_core_module_imports_the_web_layer():
    assert _checker().problems("paperwire") == []


def test_the_checker_finds_lazy_cycles_and_web_imports(tmp_path, monkeypatch):
    """A cycle closed only by an import inside a function, one through three modules, and a core
    module importing web/ are each reported; the command exits 1 on them."""
    _write(
        tmp_path,
        {
            "pkgx/__init__.py": "",
            "pkgx/a.py": "from . import b\n",
            "pkgx/b.py": "def f():\n    from .a import g\n    return g\n",
            "pkgx/c.py": "import pkgx.d\n",
            "pkgx/d.py": "from pkgx import e\n",
            "pkgx/e.py": "def h():\n    import pkgx.c\n",
            "pkgx/core.py": "def page():\n    from .web.app import create\n",
            "pkgx/cli.py": "from .web.app import create\n",
            "pkgx/web/__init__.py": "",
            "pkgx/web/app.py": "from ..core import page\ncreate = page\n",
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    checker = _checker()
    graph = checker.import_graph("pkgx")
    cycles = sorted(sorted(set(c)) for c in checker.import_cycles(graph))
    assert cycles == [["pkgx.a", "pkgx.b"], ["pkgx.c", "pkgx.d", "pkgx.e"], ["pkgx.core", "pkgx.web.app"]]
    # cli is the one module outside web/ that builds the site; core is not
    assert checker.web_imports(graph, "pkgx") == [("pkgx.core", "pkgx.web.app")]

    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "pkgx"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 1, proc.stderr
    assert "import cycle: pkgx.a -> pkgx.b -> pkgx.a" in proc.stdout
    assert "pkgx.core imports the web layer (pkgx.web.app)" in proc.stdout

"""Validate Atom documents against RFC 4287's RELAX NG schema (tests/fixtures/atom.rnc) with jing
(Debian's jing package, installed by scripts/bootstrap.sh --test), plus the two rules the schema
states as Schematron, which jing does not check: every entry has an author (or the feed has one)
and an alternate link (or content)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from lxml import etree

SCHEMA = Path(__file__).parent / "fixtures" / "atom.rnc"
A = "{http://www.w3.org/2005/Atom}"


def _schematron_rules(name: str, body: bytes) -> None:
    root = etree.fromstring(body)
    feed_has_author = root.find(A + "author") is not None
    for entry in root.iter(A + "entry"):
        eid = entry.findtext(A + "id")
        assert feed_has_author or entry.find(A + "author") is not None, (name, eid, "no author")
        links = entry.findall(A + "link")
        assert any(link.get("rel") in (None, "alternate") for link in links) or entry.find(A + "content") is not None, (
            name,
            eid,
            "no alternate link",
        )


def assert_valid_atom(documents: dict[str, bytes]) -> None:
    """Every document (name -> bytes) is valid Atom; one jing run for all of them."""
    jing = shutil.which("jing")
    if jing is None:
        pytest.skip("RFC 4287 schema validation needs jing (apt install jing; scripts/bootstrap.sh --test)")
    for name, body in documents.items():
        _schematron_rules(name, body)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for i, (name, body) in enumerate(documents.items()):
            path = Path(tmp) / f"feed{i}.xml"
            path.write_bytes(body)
            paths[str(path)] = name
        run = subprocess.run([jing, "-c", str(SCHEMA), *paths], capture_output=True, text=True, timeout=120)
    errors = run.stdout.strip()
    for path, name in paths.items():
        errors = errors.replace(path, name)
    assert run.returncode == 0, errors or run.stderr

"""ACL Anthology volume files: `paperwire ingest acl` over the two recorded volumes (8 papers with
abstracts, 5 without), inline markup turned into text, resumable, bad records reported, and the
papers findable by words and by meaning. A real database (each backend) and the real engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import make_settings
from paperwire.search.hybrid import SearchEngine
from paperwire.search.indexer import Indexer
from paperwire.sources.acl import AclSource, volume_files
from paperwire.sources.runner import run_ingest

ACL = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "other-sources"
    / "acl-anthology"
    / "acl-org-acl-anthology"
)
pytestmark = pytest.mark.skipif(not ACL.exists(), reason=f"the recorded ACL Anthology volumes are not at {ACL}")


def test_both_volumes_load_with_their_fields(store):
    files = volume_files([ACL])
    assert [f.name for f in files] == ["2022.naloma.xml", "2024.scichat.xml"]
    reports = [run_ingest(store, AclSource(f), progress=False) for f in files]
    assert [r.inserted for r in reports] == [5, 8] and all(r.skipped == 0 for r in reports)
    p = store.papers.get("acl:2024.scichat-1.3")
    assert p.title == "Reliable LLM-based User Simulator for Task-Oriented Dialogue Systems"  # <fixed-case> unwrapped
    assert p.abstract and p.authors and p.source == "acl-anthology"
    assert p.pdf_url == "https://aclanthology.org/2024.scichat-1.3.pdf"
    assert p.abs_url == "https://aclanthology.org/2024.scichat-1.3/"
    assert p.journal_ref.endswith(", 2024") and "SCI-CHAT 2024" in p.journal_ref
    assert p.announced == "2024-03-04" and p.submitted.startswith("2024-03-01")
    sarc = [q for q in (store.papers.get(f"acl:2024.scichat-1.{i}") for i in range(1, 9)) if "Sarc" in q.title]
    assert sarc and sarc[0].title.startswith("SarcEmp - Fine-tuning DialoGPT")
    naloma = [store.papers.get(f"acl:2022.naloma-1.{i}") for i in range(1, 6)]
    assert all(q is not None and q.abstract == "" and q.title for q in naloma)
    # a second run stores nothing again
    again = run_ingest(store, AclSource(files[1]), progress=False)
    assert (again.inserted, again.unchanged) == (0, 8)


def test_markup_math_and_bad_records(store, tmp_path):
    f = tmp_path / "2099.test.xml"
    f.write_text(
        """<?xml version='1.0' encoding='UTF-8'?>
<collection id="2023.test"><volume id="1" ingest-date="2023-05-02"><meta><booktitle>Test</booktitle><year>2023</year>
<month>May-June</month></meta>
<paper id="1"><title>Bounds for <tex-math>\\epsilon \\leq 4</tex-math> with <fixed-case>BERT</fixed-case></title>
<author><first>Bal&#225;zs</first><last>Szab&#243;</last></author><abstract>We bound <tex-math>x^2</tex-math>.</abstract>
<url>2023.test-1.1</url></paper>
<paper id="2"><abstract>No title here.</abstract><url>2023.test-1.2</url></paper>
<paper id="3"><title>Third</title><url>2023.test-1.3</url></paper>
</volume></collection>""",
        encoding="utf-8",
    )
    r = run_ingest(store, AclSource(f), progress=False)
    assert (r.inserted, r.skipped) == (2, 1)
    assert "missing title" in r.errors[0][1] and "paper 2" in r.errors[0][0]
    p = store.papers.get("acl:2023.test-1.1")
    assert p.title == "Bounds for $\\epsilon \\leq 4$ with BERT"
    assert p.abstract == "We bound $x^2$." and p.authors == ["Balázs Szabó"]
    assert p.submitted.startswith("2023-05-01")


def test_an_entity_bomb_is_refused_not_expanded(store, tmp_path):
    f = tmp_path / "bomb.xml"
    f.write_text(
        '<?xml version="1.0"?><!DOCTYPE c [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<collection id="x"><volume id="1"><paper id="1"><title>&b;</title><url>x-1.1</url></paper></volume></collection>'
    )
    run_ingest(store, AclSource(f), progress=False)
    p = store.papers.get("acl:x-1.1")
    assert p is None or "aaaaaaaaaa" not in p.title


def test_the_papers_are_findable_by_words_and_meaning(store, tmp_path, db_url):
    settings = make_settings(tmp_path, db_url)
    for f in volume_files([ACL]):
        run_ingest(store, AclSource(f), progress=False)
    indexer = Indexer(store, settings)
    indexer.sync_lexical()
    indexer.sync()
    engine = SearchEngine(store, settings)
    by_words = [h.paper.id for h in engine.search("sarcasm empathy", limit=5).hits]
    assert by_words[0].startswith("acl:2024.scichat-1.")
    by_meaning = [h.paper.id for h in engine.search("a chatbot that pretends to be the user", limit=3).hits]
    assert "acl:2024.scichat-1.3" in by_meaning or any(
        "simulat" in store.papers.get(i).title.lower() for i in by_meaning
    )

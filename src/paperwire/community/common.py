"""What the community modules share: finding a paper's key by its id."""

from __future__ import annotations


class UnknownPaper(LookupError):
    """No paper with this id is stored here."""

    def __init__(self, paper_id: str):
        # cut: the id comes from the URL, and an error must not echo 100 kB back
        shown = paper_id if len(paper_id) <= 60 else paper_id[:60] + "…"
        super().__init__(f"There is no paper {shown!r} here.")
        self.paper_id = paper_id


def pk_of(store, paper_id: str) -> int:
    pk = store.papers.pks_for([paper_id]).get(paper_id)
    if pk is None:
        raise UnknownPaper(paper_id)
    return pk

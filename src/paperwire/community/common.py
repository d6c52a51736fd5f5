"""What the community modules share: finding a paper's key by its id."""

from __future__ import annotations


class UnknownPaper(LookupError):
    """No paper with this id is stored here."""

    def __init__(self, paper_id: str):
        super().__init__(f"There is no paper {paper_id!r} here.")
        self.paper_id = paper_id


def pk_of(store, paper_id: str) -> int:
    pk = store.pks_for([paper_id]).get(paper_id)
    if pk is None:
        raise UnknownPaper(paper_id)
    return pk

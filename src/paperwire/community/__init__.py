"""The community around the papers: upvotes, day lists that readers submit papers to,
and curation (feature, hide) with an audit log. The web layer (web/community.py) only calls
these functions; all SQL is in storage/community.py. See docs/community.md."""

from .common import UnknownPaper
from .curate import CurateError, curate, paper_for
from .submit import ArxivUnavailable, PaperNotFound, Submission, SubmitError, parse_arxiv_ref, submit
from .votes import VoteResult, vote

__all__ = [
    "ArxivUnavailable",
    "CurateError",
    "PaperNotFound",
    "Submission",
    "SubmitError",
    "UnknownPaper",
    "VoteResult",
    "curate",
    "paper_for",
    "parse_arxiv_ref",
    "submit",
    "vote",
]

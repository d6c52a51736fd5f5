"""The project's own storage-level test modules, run again with ``store`` = a PostgreSQL store
(tests/pg_server.py): the same tests on both backends, without doubling the whole suite.

Each module below is imported whole; the ``store`` fixture defined here replaces the SQLite one
for every test (and every fixture) imported into this module. Tests that inspect the database
through SQLite itself (``rowid``, the file's path, a subprocess given a sqlite:/// URL) are
listed in SQLITE_ONLY and removed here; they run against SQLite in their own modules.
"""

from __future__ import annotations

import pytest

from test_community import *  # noqa: F401,F403
from test_github_stars import *  # noqa: F401,F403
from test_hf_import import *  # noqa: F401,F403
from test_ingest_crash import *  # noqa: F401,F403
from test_library import *  # noqa: F401,F403
from test_mail_crash import *  # noqa: F401,F403
from test_mail_sender import *  # noqa: F401,F403
from test_subscriptions_core import *  # noqa: F401,F403
from test_trending_pages import *  # noqa: F401,F403

# these read the database with SQLite-only SQL (ORDER BY rowid) or hand its file to a subprocess
SQLITE_ONLY = [
    "test_vote_on_unknown_paper_writes_nothing",
    "test_curator_actions_are_audited_and_hidden_papers_leave_the_list",
    "test_core_curate_checks_role_and_note",
    "test_submit_id_arxiv_does_not_know_writes_nothing",
    "test_submit_malformed_id_writes_nothing_and_asks_nobody",
    "test_submit_when_arxiv_answers_503_writes_nothing",
    "test_submit_when_arxiv_is_unreachable_writes_nothing",
    "test_cli_stars_refresh",
]
for _name in SQLITE_ONLY:
    globals().pop(_name, None)


@pytest.fixture
def store(pg_store):  # replaces conftest's SQLite store in this module
    return pg_store


def test_this_module_runs_on_postgresql(store):
    from paperwire.storage.postgres import PostgresStore

    assert isinstance(store, PostgresStore)

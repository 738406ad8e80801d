"""Issue 22: a 0-byte or truncated 200 answer for a stored page made a new version with an empty (or cut)
body. An empty or much-shrunken body never replaces a good one: the old text is kept, and the page is
named (``BatchResult.kept_body``) so that the run can say so."""

from pathlib import Path

import pytest

from pipeline.items.normalise import normalise
from pipeline.items.schema import RawItem
from storage.db import open_db
from storage.publications import shrunk, store_batch

# The real text of an NSPCC Learning news page (/work/shared/realdata/sites/nspcc_learning).
REAL = ("Keeping professionals up to date with all the latest safeguarding and child protection news\n"
        "This week, we're celebrating twenty years of CASPAR, our free weekly email alert containing all the "
        "developments in child protection policy, research, practice and guidance.")
URL = "https://learning.nspcc.org.uk/news/2020/october/celebrating-20-years-caspar-safeguarding-email-alert"


def pub(body: str, title: str = "Celebrating 20 years of CASPAR"):
    return normalise(RawItem(source="nspcc_learning", url=URL, title=title, body_text=body,
                             published="05 Oct 2020"))


@pytest.fixture
def db(tmp_path: Path):
    database = open_db(tmp_path / "k.db")
    yield database
    database.close()


def stored(db):
    row = next(db.query("select body_text, version, content_hash from publications"))
    versions = next(db.query("select count(*) as n from publication_versions"))["n"]
    return row["body_text"], row["version"], versions


@pytest.mark.parametrize("body", ["", "   ", REAL[:60]])
def test_an_empty_or_truncated_body_keeps_the_stored_text(db, body):
    store_batch(db, [pub(REAL)], "2026-01-01T00:00:00Z")
    result = store_batch(db, [pub(body)], "2026-01-02T00:00:00Z")
    assert result.kept_body == [URL] and (result.updated, result.unchanged) == (0, 1)
    assert stored(db) == (pub(REAL).body_text, 1, 0), "no new version, the good text kept"
    again = store_batch(db, [pub(REAL)], "2026-01-03T00:00:00Z")
    assert (again.unchanged, again.kept_body) == (1, []), "the good text is still the stored one"


def test_other_changes_are_stored_with_the_old_text(db):
    store_batch(db, [pub(REAL)], "2026-01-01T00:00:00Z")
    result = store_batch(db, [pub("", title="Celebrating 20 years of CASPAR (updated)")], "2026-01-02T00:00:00Z")
    assert result.kept_body == [URL] and result.updated == 1
    body, version, versions = stored(db)
    assert (body, version, versions) == (pub(REAL).body_text, 2, 1)
    title = next(db.query("select title from publications"))["title"]
    assert title == "Celebrating 20 years of CASPAR (updated)"


def test_a_real_edit_replaces_the_text(db):
    store_batch(db, [pub(REAL)], "2026-01-01T00:00:00Z")
    edited = REAL.replace("twenty years", "two decades") + " Sign up today."
    result = store_batch(db, [pub(edited)], "2026-01-02T00:00:00Z")
    assert (result.updated, result.kept_body) == (1, [])
    assert stored(db)[:2] == (pub(edited).body_text, 2)


@pytest.mark.parametrize(("old", "new", "kept"), [
    ("text", "", True), ("", "", False), ("", "text", False), ("short", "s", False),
    ("x" * 400, "x" * 199, True), ("x" * 400, "x" * 200, False), ("x" * 100, "x" * 10, False),
])
def test_shrunk(old, new, kept):
    assert shrunk(old, new) is kept

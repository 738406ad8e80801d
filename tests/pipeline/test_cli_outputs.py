"""The analysts' commands through the CLI: search, export, feed, digest (time injected through the clock)."""

import csv
import io
import json

import feedparser
import pytest

from tests.pipeline.outputs_data import HOSTILE_SUMMARY, HOSTILE_TITLE, NOW, build_db
from tests.support import CONFIG, run_cli


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.setattr("pipeline.clock.system_clock", lambda: NOW)
    return build_db(tmp_path / "t.db")


def cli(db, *args):
    return run_cli(*args, "--db", str(db), "--config", str(CONFIG))


def one_line_error(result, code=2):
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def count(db):
    import sqlite3

    with sqlite3.connect(db) as conn:
        return conn.execute("select count(*) from publications").fetchone()[0]


@pytest.mark.parametrize("command", ["search", "export", "feed", "digest"])
def test_every_command_has_help_with_an_example(command):
    result = run_cli(command, "--help")
    assert result.exit_code == 0 and "Example" in result.output and "--db" in result.output


# ---------------------------------------------------------------- search


def test_search_json(db):
    result = cli(db, "search", "script", "--json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [(r["rank"], r["title"]) for r in records] == [(1, HOSTILE_TITLE)]
    assert "**script**" in records[0]["snippet"]
    assert records[0]["published_at"] == "2024-12-12T09:30:00Z" and records[0]["source"] == "csprp_govuk"


def test_search_text_and_filters(db):
    result = cli(db, "search", "neglect", "--source", "nspcc_learning", "--type", "briefing",
                 "--since", "2025-01-01", "--until", "2025-01-31")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("1. CASPAR briefing: Child Safeguarding Practice Review Panel annual report")
    assert "nspcc_learning · briefing · 06 January 2025" in result.stdout
    assert len(json.loads(cli(db, "search", "neglect", "--limit", "2", "--json").stdout)) == 2
    assert json.loads(cli(db, "search", "neglect", "--since", "7d", "--json").stdout)[0]["title"] == (
        "Withdrawn notice about neglect")


def test_search_reads_user_punctuation_as_words(db):
    result = cli(db, "search", "child's \"safety\" - online")
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr == "no publications match: child's \"safety\" - online\n"
    assert cli(db, "search", 'annual - "safety"!', "--json").exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", '"unbalanced'], "cannot search for '\"unbalanced': the double quote before 'unbalanced' is not"),
        (["search", "AND OR"], "cannot search for 'AND OR': 'AND' needs a word before it"),
        (["search", "abuse AND"], "cannot search for 'abuse AND': 'AND' at the end needs a word after it"),
        (["search", "x", "--limit", str(10**20)], "the number of results must be between 1 and 10,000"),
        (["search", "-"], "nothing to search for"),
        (["search", "x", "--source", "nope"], "unknown source 'nope'; known sources: "),
        (["search", "x", "--type", "novel"], "unknown type 'novel'; types: news, press_release"),
        (["search", "x", "--since", "last week"], "--since: cannot read 'last week'"),
        (["search", "x", "--until", "2024-02-30"], "--until: cannot read '2024-02-30'"),
        (["search", "x", "--limit", "0"], "--limit: expected a whole number of at least 1"),
        (["export", "--format", "xml"], "--format: expected one of csv, json, jsonl (got 'xml')"),
        (["export", "--since", "2025-02-01", "--until", "2025-01-01"], "--since 2025-02-01 is not before"),
        (["feed", "--limit", "many"], "--limit: expected a whole number"),
        (["digest", "--format", "pdf"], "--format: expected one of md, html"),
        (["digest", "--since", "2025-02-01"], "--since 2025-02-01 is in the future"),
        (["digest", "--since", "7 days"], "--since: cannot read '7 days'"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(db, args, message):
    assert message in one_line_error(cli(db, *args))


def test_a_missing_database_is_not_created(tmp_path):
    missing = tmp_path / "typo.db"
    for command in (["search", "x"], ["export"], ["feed"], ["digest"]):
        assert "no database at" in one_line_error(cli(missing, *command), code=1)
    assert not missing.exists()


# ---------------------------------------------------------------- export


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_export_to_a_file_has_every_row_in_utf8(db, tmp_path, fmt):
    out = tmp_path / f"out.{fmt}"
    result = cli(db, "export", "--format", fmt, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stderr == f"exported {count(db)} publications as {fmt} to {out}\n"
    text = out.read_bytes().decode("utf-8")  # strict: fails on anything but UTF-8
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
    elif fmt == "json":
        rows = json.loads(text)
    else:
        rows = [json.loads(line) for line in text.splitlines()]
    assert len(rows) == count(db)
    by_title = {r["title"] for r in rows}
    assert HOSTILE_TITLE in by_title and "“I wanted them all to notice”" in by_title
    assert HOSTILE_SUMMARY in {r["summary"] for r in rows}
    assert not list(tmp_path.glob(".out.*"))  # no temporary file left behind


def test_export_to_stdout_with_filters(db):
    result = cli(db, "export", "--format", "jsonl", "--source", "nspcc_learning", "--since", "2025-01-01")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["source"] for line in result.stdout.splitlines()] == ["nspcc_learning"] * 2
    assert result.stderr == "exported 2 publications as jsonl\n"


def test_export_into_a_missing_folder_is_bad_input(db, tmp_path):
    assert "cannot write" in one_line_error(cli(db, "export", "--out", str(tmp_path / "no" / "x.csv")))


# ---------------------------------------------------------------- feed and digest


def test_feed_to_a_file(db, tmp_path):
    out = tmp_path / "feed.atom"
    result = cli(db, "feed", "--out", str(out), "--limit", "3", "--url", "https://example.org/feed.atom")
    assert result.exit_code == 0, result.output
    feed = feedparser.parse(out.read_bytes())
    assert not feed.bozo and len(feed.entries) == 3
    assert feed.entries[0].title == "Child safeguarding incidents"
    assert [a.name for a in feed.entries[0].authors] == ["Child Safeguarding Practice Review Panel", "NSPCC Learning"]
    assert any(link.rel == "self" and link.href == "https://example.org/feed.atom" for link in feed.feed.links)
    assert cli(db, "feed", "--limit", "3").stdout.encode("utf-8") == out.read_bytes().replace(
        b'  <link href="https://example.org/feed.atom" rel="self"/>\n', b"")  # stdout: the same feed


def test_feed_output_is_the_same_however_often_it_is_built(db, monkeypatch):
    first = cli(db, "feed").stdout
    monkeypatch.setattr("pipeline.clock.system_clock", lambda: NOW.replace(year=2030))
    assert cli(db, "feed").stdout == first


def test_digest_of_the_last_7_days_in_markdown(db):
    result = cli(db, "digest")  # --since 7d by default, up to the (injected) time now
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith("# Safeguarding digest: 01 January 2025 to 08 January 2025\n\n"
                           "2 stories from 2 sources, published 01 January 2025 to 08 January 2025.")
    assert "## Child safeguarding incidents\n\n" in text and "## Podcast: online safety\n\n" in text
    assert "Source: NSPCC Learning · Date published: 06 January 2025" in text
    assert r"Read more on Child Safeguarding Practice Review Panel: [Annual report \<script\>" in text


def test_digest_html_to_a_file(db, tmp_path):
    out = tmp_path / "digest.html"
    result = cli(db, "digest", "--since", "2024-12-01", "--until", "2024-12-31", "--format", "html",
                 "--out", str(out))
    assert result.exit_code == 0 and result.stdout == ""
    page = out.read_text(encoding="utf-8")
    assert "<title>Safeguarding digest: 01 December 2024 to 31 December 2024</title>" in page
    assert "Annual report &lt;script&gt;alert(1)&lt;/script&gt; &amp;" in page and "<script" not in page


def test_an_empty_digest_says_so(db):
    result = cli(db, "digest", "--since", "2023-01-01", "--until", "2023-01-07")
    assert result.exit_code == 0
    assert "No publications dated 01 January 2023 to 07 January 2023: nothing new in this period." in result.stdout

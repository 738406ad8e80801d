"""`probe` on every recorded site, and on one whose markup changed (the verdict and the missing fields)."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.support import CONFIG, FIXTURES, run_cli

SOURCES = ("nspcc_learning", "iwf", "childrens_commissioner", "csprp_govuk", "csprp_panel_site")


def probe(*args: str):
    result = run_cli("probe", "--config", str(CONFIG), *args)
    return result, result.output


@pytest.mark.parametrize("slug", SOURCES)
def test_probe_reports_every_source_on_its_recorded_site(slug):
    result, out = probe("--replay", str(FIXTURES / slug), "--source", slug, "--sample", "3", "--json")
    assert result.exit_code == 0, out
    [report] = json.loads(out)
    assert report["source"] == slug and report["items"] > 0 and report["door"]
    assert report["verdict"] in ("ok", "degraded") and report["sampled"] == 3
    assert set(report["coverage"]) == {"title", "date", "summary", "content_type"}
    assert report["coverage"]["title"] == 3 and report["coverage"]["date"] == 3
    assert report["robots"], "every probed host has a robots.txt verdict"


def test_probe_names_the_unmatched_article_links_and_the_errors_of_nspcc():
    result, out = probe("--replay", str(FIXTURES / "nspcc_learning"), "--source", "nspcc_learning", "--sample", "2")
    assert result.exit_code == 0
    assert out.splitlines()[0].startswith("nspcc_learning: degraded (18 items via listings")
    assert "unmatched article-like link: https://learning.nspcc.org.uk/news/events/safeguarding-conference-2025" in out
    assert "listing https://learning.nspcc.org.uk/news: " in out


def test_markup_changed_gives_degraded_with_the_missing_fields_named(tmp_path):
    """IWF's pages with their paragraphs turned into spans and their description meta tags renamed (a markup
    change): items still come, but no summary: degraded, and the missing field is named."""
    site = tmp_path / "iwf"
    shutil.copytree(FIXTURES / "iwf", site)
    for page in site.rglob("*.html"):
        html = page.read_text(encoding="utf-8").replace("<p", "<span").replace("</p>", "</span>")
        page.write_text(html.replace('name="description"', 'name="x"').replace("og:description", "x"),
                        encoding="utf-8")
    result, out = probe("--replay", str(site), "--source", "iwf", "--sample", "3", "--json")
    assert result.exit_code == 0, out
    [report] = json.loads(out)
    assert report["verdict"] == "degraded" and report["missing_fields"] == ["summary"]
    assert report["coverage"]["summary"] == 0 and report["coverage"]["title"] == 3


def test_a_source_that_yields_nothing_is_broken_and_exits_1(tmp_path):
    """IWF listings replaced by a page with no article link: nothing yielded, verdict broken, exit 1."""
    shell = tmp_path / "shell.html"
    shell.write_text("<html><body><h1>News</h1><p>We are redesigning.</p></body></html>", encoding="utf-8")
    manifest = {u: {"file": "shell.html"} for u in (
        "https://www.iwf.org.uk/news-media/news/?page=1", "https://www.iwf.org.uk/news-media/blogs/?page=1")}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    result, out = probe("--replay", str(FIXTURES / "iwf"), "--replay", str(tmp_path), "--source", "iwf")
    assert result.exit_code == 1
    assert out.splitlines()[0].startswith("iwf: broken (0 items")

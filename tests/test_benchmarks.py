"""Each benchmark script's smoke mode runs (tiny sizes, a few seconds), so that the scripts keep working.

The figures themselves are measured by running the scripts at full size (README, "Performance"), never by
timed tests: in smoke mode timing targets are printed but not judged. Counts that do not depend on timing
(no new version after an unchanged re-crawl, exactly the changed publications versioned) are judged, and
``--strict`` makes a miss fail the script.
"""

import json
import re
import subprocess
import sys

import pytest

from tests.support import ROOT

BENCH = ROOT / "benchmarks"
FIGURE = re.compile(r"^\s+.+\s(target [<>=]+ [\d.]+)\s.*\s(MET|NOT MET|smoke)$", re.M)


def run(script, *args, timeout=120):
    proc = subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def figures(out):
    return FIGURE.findall(out)


def assert_report(out, script):
    assert f"benchmarks/{script}" in out
    assert re.search(r"machine: \d+ CPUs \(nproc\), [\d.]+ GiB RAM, Python 3\.\d+", out), out
    assert re.search(r"date: +\d{4}-\d\d-\d\d \d\d:\d\d UTC", out), out
    assert figures(out), out


def test_synthetic_sites_are_deterministic_and_replayable(tmp_path):
    from benchmarks import synthetic
    from pipeline.replay import load_manifests

    first = synthetic.build(tmp_path / "a", "iwf", 30)
    again = synthetic.build(tmp_path / "b", "iwf", 30)
    entries = load_manifests([first.folder])
    assert len(entries) == first.pages + 1 and len(first.publication_urls) == 30
    assert (first.folder / "manifest.json").read_text() == (again.folder / "manifest.json").read_text()
    article = entries[first.publication_urls[0].lower()].body().decode()
    assert re.search(r"Published:  [A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2} \d{4}", article)
    assert len(re.sub(r"<[^>]+>", " ", article.split('class="rich-text"')[1].split("</div>")[0]).split()) >= 150

    changed = synthetic.build(tmp_path / "a", "iwf", 30, change=0.1)
    assert len(changed.changed_urls) == 3
    manifest = json.loads((changed.folder / "manifest.json").read_text())
    before = json.loads((again.folder / "manifest.json").read_text())
    differing = {u for u in manifest if manifest[u]["headers"].get("ETag") != before[u]["headers"].get("ETag")}
    assert set(changed.changed_urls) <= differing  # (and the few pages showing them as related articles)
    assert len(differing) < len(manifest) / 3


def test_govuk_shape_has_search_pages_and_content_documents(tmp_path):
    from benchmarks import synthetic

    site = synthetic.build(tmp_path, "csprp_govuk", 45, page_size=20)
    manifest = json.loads((site.folder / "manifest.json").read_text())
    search = [u for u in manifest if "/api/search.json" in u]
    assert len(search) == 3 and site.pages == 45 + 3
    first = json.loads((site.folder / manifest[synthetic.govuk_search_url(0, 20)]["file"]).read_text())
    assert first["total"] == 45 and len(first["results"]) == 20
    stamps = [r["public_timestamp"] for r in first["results"]]
    assert stamps == sorted(stamps, reverse=True)
    doc = json.loads((site.folder / manifest["https://www.gov.uk/api/content" + first["results"][0]["link"]]["file"])
                     .read_text())
    assert doc["title"] == first["results"][0]["title"] and len(doc["details"]["body"].split()) >= 150


def test_wordpress_and_nspcc_shapes_are_deterministic_and_shaped_like_their_fixtures(tmp_path):
    from benchmarks import synthetic

    rest = synthetic.build(tmp_path / "a", "childrens_commissioner", 250)
    manifest = json.loads((rest.folder / "manifest.json").read_text())
    assert manifest == json.loads((synthetic.build(tmp_path / "b", "childrens_commissioner", 250).folder
                                   / "manifest.json").read_text())
    pages = {u: e for u, e in manifest.items() if "/wp-json/wp/v2/resource?" in u}
    assert len(pages) == 2 and all(e["headers"]["X-WP-TotalPages"] == "2" for e in pages.values())
    posts = json.loads((rest.folder / pages[next(iter(pages))]["file"]).read_text())
    assert len(posts) == 100 and posts[0]["type"] == "resource" and posts[0]["link"] in rest.publication_urls
    assert [p["date_gmt"] for p in posts] == sorted((p["date_gmt"] for p in posts), reverse=True)

    panel = json.loads((synthetic.build(tmp_path, "csprp_panel_site", 60).folder / "manifest.json").read_text())
    assert all(panel[synthetic.PANEL + u] == {"status": 404} for u in ("/wp-json/", "/feed/", "/wp-sitemap.xml"))
    assert synthetic.PANEL + "/publications/page/2/" in panel
    nspcc = synthetic.build(tmp_path, "nspcc_learning", 60)
    assert json.loads((nspcc.folder / "manifest.json").read_text())[synthetic.NSPCC + "/sitemap.xml"] == {"status": 404}
    assert any(re.search(r"/news/\d{4}/[a-z]+/", u) for u in nspcc.publication_urls)
    assert any("/research-resources/" in u for u in nspcc.publication_urls)


@pytest.mark.e2e
def test_crawl_overhead_smoke_wordpress_and_nspcc():
    """The production spiders read every shape without an error, and the bare spider yields the same items."""
    out = run("crawl_overhead.py", "--smoke", "--sources", "childrens_commissioner", "csprp_panel_site",
              "nspcc_learning")
    for slug in ("childrens_commissioner", "csprp_panel_site", "nspcc_learning"):
        assert re.search(rf"{slug} #1: pipeline \d+ pages .* run ok, 40 items, 40 new, 0 errors; bare", out), out
        assert re.search(rf"{slug}: items yielded, .* 0 +target == 0 +MET", out), out
    assert out.count("bare spider: 40 items yielded (pipeline: 40)") == 3, out


def test_storage_search_smoke():
    out = run("storage_search.py", "--smoke", "--repeat", "3")
    assert_report(out, "storage_search.py")
    assert len(figures(out)) == 8
    # the ranking inside the index gives the top 10 of the ranking before it, on every fixed query
    assert figures(out).count(("target == 32", "MET")) == 2, out


def test_writers_smoke():
    out = run("writers.py", "--smoke", "--writers", "1", "3")
    assert_report(out, "writers.py")
    assert len(figures(out)) == 1
    assert re.search(r"3 writer\(s\): 399 in", out), out


def test_clustering_smoke():
    out = run("clustering.py", "--smoke")
    assert_report(out, "clustering.py")
    assert len(figures(out)) == 4
    assert "hard-negative pairs wrongly joined: 0 of" in out


@pytest.mark.e2e
def test_crawl_overhead_smoke():
    out = run("crawl_overhead.py", "--smoke", "--sources", "iwf")
    assert_report(out, "crawl_overhead.py")
    # the bare spider follows the listings' links with LinkExtractor (the pipeline also asks for the feed)
    assert re.search(r"iwf #1: pipeline 4[56] pages .* run ok, 40 items, 40 new, 0 errors; bare 45 pages", out), out
    assert "bare spider: 40 items yielded (pipeline: 40)" in out, out


@pytest.mark.e2e
def test_incremental_smoke_judges_versions():
    out = run("incremental_crawl.py", "--smoke", "--sources", "csprp_govuk", "--strict")
    assert_report(out, "incremental_crawl.py")
    judged = [f for f in figures(out) if f[1] != "smoke"]
    assert len(judged) == 2 and all(verdict == "MET" for _, verdict in judged), out


@pytest.mark.e2e
def test_memory_smoke():
    out = run("memory.py", "--smoke", "--sources", "csprp_govuk")
    assert_report(out, "memory.py")
    peak = re.search(r"peak RSS of the crawl process, 40 publications\s+(\d+) MB", out)
    assert peak and 30 < int(peak.group(1)) < 2000, out


@pytest.mark.e2e
def test_startup_smoke():
    out = run("startup.py", "--smoke")
    assert_report(out, "startup.py")
    assert len(figures(out)) == 6
    assert "--help: heavy modules imported: none" in out, out
    judged = [f for f in figures(out) if f[1] != "smoke"]
    assert len(judged) == 3 and all(verdict == "MET" for _, verdict in judged), out

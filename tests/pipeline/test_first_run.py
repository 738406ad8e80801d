"""What an operator meets first (issue 18): the demo, a machine without network, the crawl's output and
its log file, --version, `export | head`, a misspelt source option, a --help that imports nothing heavy."""

import json
import subprocess
import sys
import time

import pytest
import yaml

from pipeline.config import ConfigError, load_config
from tests.support import CONFIG, ROOT, query


def cli(*args, timeout=120, **kwargs):
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, **kwargs)


def config_with(tmp_path, edit):
    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_a_misspelt_source_option_is_refused_at_load_naming_it(tmp_path):
    def misspell(data):
        options = data["sources"]["csprp_govuk"]["options"]
        options["organisation_slog"] = options.pop("organisation_slug")

    with pytest.raises(ConfigError) as err:
        load_config(config_with(tmp_path, misspell))
    assert "sources.csprp_govuk.options: unknown option 'organisation_slog'" in str(err.value)
    assert "did you mean organisation_slug?" in str(err.value)


def test_feed_source_options_are_those_of_the_generic_spider(tmp_path):
    def bad_feed_option(data):
        data["sources"]["example_feed"] = {
            "type": "feed", "name": "Example", "organisation": "Example", "allowed_domains": ["example.org"],
            "feed_url": "https://example.org/rss.xml", "options": {"max_items": 5, "max_itmes": 5}}

    with pytest.raises(ConfigError, match="unknown option 'max_itmes'.*did you mean max_items"):
        load_config(config_with(tmp_path, bad_feed_option))


def test_version():
    result = cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("safeguarding-news, version ")


def test_help_lists_every_command_without_importing_them():
    probe = ("import sys, runpy; sys.argv = ['safeguarding-news', '--help']\n"
             "try: runpy.run_module('pipeline', run_name='__main__')\n"
             "except SystemExit: pass\n"
             "print(sorted(m for m in ('pydantic', 'sqlite_utils', 'numpy', 'scrapy', 'pipeline.cli.operators') "
             "if m in sys.modules), file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stderr.strip().splitlines()[-1] == "[]"
    from pipeline.cli import COMMANDS

    listed = result.stdout.split("Commands:")[1]
    assert all(f"  {name} " in listed for name in COMMANDS)


@pytest.mark.e2e
def test_a_machine_without_network_is_told_within_seconds(tmp_path):
    def unreachable(data):
        for slug, source in data["sources"].items():
            source["allowed_domains"] = [f"{slug.replace('_', '-')}.invalid"]  # RFC 6761: never resolves
            for key in ("base_url",):
                if key in (source.get("options") or {}):
                    source["options"][key] = f"https://{slug.replace('_', '-')}.invalid"

    config = config_with(tmp_path, unreachable)
    started = time.monotonic()
    result = cli("crawl", "--config", str(config), "--db", str(tmp_path / "x.db"))
    assert time.monotonic() - started < 30
    assert result.returncode == 1
    runs = query(tmp_path / "x.db", "select source, status, message from runs")
    assert len(runs) == 5 and {r["status"] for r in runs} == {"failed"}
    assert all("no network" in r["message"] and "does not resolve" in r["message"] for r in runs)
    assert "safeguarding-news demo" in result.stderr
    assert len(result.stderr.splitlines()) < 20, result.stderr


@pytest.mark.e2e
def test_demo_crawls_shipped_sites_and_shows_status_and_digest(tmp_path):
    db = tmp_path / "demo.db"
    result = cli("demo", "--db", str(db), timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "== status" in result.stdout and "UNHEALTHY" not in result.stdout
    digest = result.stdout.split("== this week's digest")[1]
    assert "## " in digest and "Read the" in digest, "the digest is never empty"
    runs = query(db, "select source, status from runs")
    assert runs and {r["status"] for r in runs} == {"ok"}, runs
    assert {r["source"] for r in runs} == set(load_config(CONFIG).sources), "the demo shows every source"


def test_the_demo_ships_every_source_of_config():
    """Fails when the shipped demo is out of step with config.yaml and the fixtures (a source left out, a
    recorded site missing): re-run `python -m pipeline.tools.demo_sites --refresh`."""
    from pipeline.tools.demo_sites import DEMO_CONFIG, demo_sites

    wanted = {s.slug for s in load_config(CONFIG).enabled_sources()}
    assert set(load_config(DEMO_CONFIG).sources) == wanted
    assert {p.name for p in demo_sites()} == wanted


def _site(tmp_path):
    site = tmp_path / "site"
    (site / "news").mkdir(parents=True)
    pages = {
        "https://example.org/news": ("news.html", '<ul><li class="card"><a href="/news/good">Good</a></li>\n'
                                     '<li class="card"><a href="/news/cut-off">Cut off</a></li></ul>\n'
                                     '<nav><a rel="next" href="?page=2">Next</a></nav>'),
        "https://example.org/news?page=2": ("news/page-2.html", "<ul><li><a href='/news/old'>Old</a></li></ul>"),
        "https://example.org/news/good": ("news/good.html", "<html>good</html>"),
        "https://example.org/news/cut-off": ("news/cut-off.html", "<html>cut"),
        "https://example.org/sitemap.xml": ("sitemap.xml", "<urlset><url><loc>https://example.org/news/good</loc>"
                                            "</url><url><loc>https://example.org/news/cut-off/</loc></url></urlset>"),
    }
    manifest = {url: {"file": file} for url, (file, _) in pages.items()}
    manifest["https://example.org/news?page=3"] = {"status": 500}
    for file, body in pages.values():
        (site / file).write_text(body, encoding="utf-8")
    (site / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return site


def test_the_demo_copy_loses_a_fixture_s_faulty_pages_and_every_link_to_them(tmp_path):
    from pipeline.tools.demo_sites import clean_copy, failed_urls

    site = _site(tmp_path)
    message = ("page cut off mid-HTML (no closing </html>), not stored: https://example.org/news/cut-off; "
               "HTTP 500: https://example.org/news?page=3 (+1 more)")
    assert failed_urls(message) == ["https://example.org/news/cut-off", "https://example.org/news?page=3"]
    removed: dict[str, str] = {}
    assert clean_copy(site, failed_urls(message), removed)
    manifest = json.loads((site / "manifest.json").read_text(encoding="utf-8"))
    assert "https://example.org/news/cut-off" not in manifest and "https://example.org/news?page=3" not in manifest
    assert not (site / "news" / "cut-off.html").exists()
    listing = (site / "news.html").read_text(encoding="utf-8")
    assert "/news/good" in listing and "cut-off" not in listing and "Cut off" not in listing
    sitemap = (site / "sitemap.xml").read_text(encoding="utf-8")
    assert "news/good" in sitemap and "cut-off" not in sitemap
    # a listing walked by page number asks for page 3 again: it is served as page 2 (nothing new: the walk ends)
    assert clean_copy(site, ["https://example.org/news?page=3"], removed)
    manifest = json.loads((site / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["https://example.org/news?page=3"] == {"file": "news/page-2.html"}
    assert not clean_copy(site, ["https://example.org/news?page=3"], removed), "no progress: the source is left out"


@pytest.mark.e2e
def test_crawl_output_explains_itself_and_the_scrapy_log_goes_to_a_file(tmp_path):
    db = tmp_path / "x.db"
    site = ROOT / "tests" / "fixtures" / "csprp_govuk"
    first = cli("crawl", "--source", "csprp_govuk", "--replay", str(site), "--db", str(db))
    second = cli("crawl", "--source", "csprp_govuk", "--replay", str(site), "--db", str(db))
    for result in (first, second):
        assert result.returncode in (0, 1), result.stderr
        header = result.stdout.splitlines()[0].split()
        assert header[:9] == ["source", "status", "pages", "new", "changed", "unchanged", "not", "seen", "invalid"]
        assert "new: publications stored for the first time" in result.stdout
        assert "Scrapy" not in result.stderr and "Deprecat" not in result.stderr, "the Scrapy log is in its file"
        assert len(result.stderr.splitlines()) <= 6, result.stderr
    runs = query(db, "select log_path, new, unchanged from runs order by id")
    assert runs[1]["new"] == 0 and runs[1]["unchanged"] > 0
    for run in runs:
        log = (ROOT / run["log_path"]).read_text()
        assert "Scrapy 2." in log and "ScrapyDeprecationWarning" not in log
    status = cli("status", "--db", str(db), "--json")
    assert json.loads(status.stdout)[0]["log_path"] == runs[1]["log_path"]


def test_export_into_head_ends_quietly(tmp_path):
    from storage.db import open_db
    from storage.publications import store_batch
    from tests.ops import pub

    db = tmp_path / "x.db"
    store_batch(open_db(db), [pub(n) for n in range(3000)], "2026-01-05T00:00:00Z")
    export = subprocess.Popen([sys.executable, "-m", "pipeline", "export", "--db", str(db), "--format", "jsonl"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    head = subprocess.run(["head", "-n", "1"], stdin=export.stdout, capture_output=True, timeout=60)
    export.stdout.close()
    err = export.stderr.read().decode()
    export.wait(timeout=60)
    assert head.stdout.count(b"\n") == 1
    assert err == "", err
    assert export.returncode == 141

"""The recorded sites the ``demo`` command crawls, shipped with the package (``pipeline/tools/demo/``).

They are clean copies of ``tests/fixtures/<source>``: the test fixtures hold deliberate faults (a 500, a
cut-off page, a page without a date, an empty listing) that a first run must not greet a newcomer with.
``python -m pipeline.tools.demo_sites --refresh`` makes them, deterministically, without knowing in advance
which pages are faulty (the fixtures change):

1. copy each enabled source's recorded site and crawl the copy over replay into a scratch database;
2. while the crawl is not ``ok``, take the URLs its run message names as failed (``<problem>: <url>``) and
   remove them from the copy: the manifest entry goes (with its file), and so does every reference to the
   URL in the copy's other bodies, the smallest enclosing element that holds it (a listing's ``<li>`` or
   ``<article>`` card, a sitemap's ``<url>``, a feed's ``<item>``/``<entry>``, else the ``<a>`` or
   ``<link>`` itself; in a JSON array, the object that names it);
3. a URL that fails again once nothing links to it is asked for by construction (a listing walked by page
   number, ``?page=3``): it is then served with the body of the entry before it on the same path (page 2
   again), which brings nothing new, so the walk ends there;
4. crawl again; a source still not ``ok`` after ``MAX_ROUNDS``, or whose failures name no URL to remove, is
   left out (said on stderr).

What was removed or replaced is written into the copy's ``metadata.json`` (``demo_copy``). The demo's
``config.yaml`` lists the sources kept (their blocks from the repository's config.yaml). Re-run it whenever
the fixtures change; ``tests/pipeline/test_first_run.py`` fails when the shipped copy no longer gives every
source of config.yaml a clean crawl.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import yaml

DEMO_DIR = Path(__file__).resolve().parent / "demo"
SITES_DIR = DEMO_DIR / "sites"
DEMO_CONFIG = DEMO_DIR / "config.yaml"
REPO = Path(__file__).resolve().parents[2]
SKIPPED_FILES = shutil.ignore_patterns("_reconstruct.py", "__pycache__")
HEADER = ("# The demo's configuration, written by `python -m pipeline.tools.demo_sites --refresh` from the\n"
          "# repository's config.yaml: the sources whose recorded site (sites/<slug>) crawls cleanly.\n")
MAX_ROUNDS = 8
# a failure in a run's message: "<problem>: <url>", joined by "; " (a "(+N more)" tail shows next round)
FAILED_URL = re.compile(r":\s(https?://[^\s;]+?)(?=;\s|\s\(\+\d+ more\)|$)")
CONTAINERS = ("li", "article", "url", "item", "entry", "tr")
LINK_ATTR = re.compile(r"""\b(?:href|src)\s*=\s*(["'])(.*?)\1""", re.I | re.S)
LINK_TEXT = re.compile(r"<(?:loc|link|id)\b[^>]*>\s*([^<\s]+)\s*</(?:loc|link|id)>", re.I)
TEXT_SUFFIXES = (".html", ".htm", ".xml", ".json", ".rss", ".atom", ".txt", "")


def demo_sites() -> list[Path]:
    """The shipped recorded sites, one folder per source."""
    return sorted(p for p in SITES_DIR.iterdir() if (p / "manifest.json").is_file()) if SITES_DIR.is_dir() else []


def same_url(a: str, b: str) -> bool:
    """Equal as a crawl asks for them: scheme and host case, a trailing slash and the fragment aside."""
    from pipeline.replay import url_key

    def norm(url: str) -> str:
        key = url_key(url.split("#", 1)[0])
        parts = urlsplit(key)
        return f"{parts.netloc}{parts.path.rstrip('/') or '/'}?{parts.query}"

    return norm(a) == norm(b)


def failed_urls(message: str | None) -> list[str]:
    """The URLs a run's message names as failed, in order, once each."""
    found: list[str] = []
    for url in FAILED_URL.findall(message or ""):
        if url not in found:
            found.append(url)
    return found


def _refers(text: str, base: str, url: str) -> bool:
    values = [m.group(2) for m in LINK_ATTR.finditer(text)] + LINK_TEXT.findall(text)
    return any(same_url(urljoin(base, v.replace("&amp;", "&")), url) for v in values)


def _strip_markup(text: str, base: str, url: str) -> str:
    """``text`` without the smallest elements (a card, a sitemap or feed entry, else the link) naming ``url``."""
    for tag in CONTAINERS:  # innermost first: no opening of the same tag inside the match
        pattern = re.compile(rf"<{tag}\b[^>]*>(?:(?!<{tag}\b).)*?</{tag}\s*>", re.I | re.S)
        text = pattern.sub(lambda m: "" if _refers(m.group(0), base, url) else m.group(0), text)
    text = re.sub(r"<a\b[^>]*>.*?</a\s*>", lambda m: "" if _refers(m.group(0), base, url) else m.group(0),
                  text, flags=re.I | re.S)
    return re.sub(r"<link\b[^>]*>", lambda m: "" if _refers(m.group(0), base, url) else m.group(0), text,
                  flags=re.I)


def _strip_json(data: Any, base: str, url: str) -> Any:
    """A JSON body without the objects of an array that name ``url`` (a WordPress REST listing's posts)."""
    def names(value: Any) -> bool:
        if isinstance(value, str):
            return value.startswith(("http", "/")) and same_url(urljoin(base, value), url)
        if isinstance(value, dict):
            return any(names(v) for v in value.values())
        if isinstance(value, list):
            return any(names(v) for v in value)
        return False

    if isinstance(data, list):
        return [_strip_json(v, base, url) for v in data if not (isinstance(v, dict) and names(v))]
    if isinstance(data, dict):
        return {k: _strip_json(v, base, url) for k, v in data.items()}
    return data


def _without_references(site: Path, manifest: dict[str, Any], url: str) -> int:
    """Remove every reference to ``url`` from the site's bodies; the number of files changed."""
    changed = 0
    for page, spec in manifest.items():
        file = site / spec["file"] if spec.get("file") else None
        if file is None or not file.is_file() or file.suffix.lower() not in TEXT_SUFFIXES:
            continue
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if file.suffix.lower() == ".json":
            try:
                data = json.loads(text)
            except ValueError:
                continue
            stripped = _strip_json(data, page, url)
            new = text if stripped == data else json.dumps(stripped, ensure_ascii=False, indent=1)
        else:
            new = _strip_markup(text, page, url)
        if new != text:
            file.write_text(new, encoding="utf-8")
            changed += 1
    return changed


def _entry_of(manifest: dict[str, Any], url: str) -> str | None:
    return next((key for key in manifest if same_url(key, url)), None)


def _served_again(manifest: dict[str, Any], url: str) -> str | None:
    """The entry before ``url`` on the same path (its previous page), with a file: served in its place."""
    parts = urlsplit(url)
    siblings = sorted(key for key, spec in manifest.items() if spec.get("file") and int(spec.get("status", 200)) == 200
                      and urlsplit(key)[:3] == parts[:3] and not same_url(key, url))
    from pipeline.replay import url_key

    earlier = [key for key in siblings if url_key(key) < url_key(url)]
    return earlier[-1] if earlier else None


def clean_copy(site: Path, failures: list[str], removed: dict[str, str]) -> bool:
    """Remove (or, the second time, serve again) each failed URL in the copy at ``site``; True if it changed."""
    path = site / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    before = {spec["file"] for spec in manifest.values() if spec.get("file")}
    progress = False
    for url in failures:
        key = _entry_of(manifest, url)
        if url not in removed:
            if key is not None:
                manifest.pop(key)
            _without_references(site, manifest, url)
            removed[url] = "removed, with every reference to it"
            progress = True
        elif (sibling := _served_again(manifest, url)) is not None and removed[url] != f"served as {sibling}":
            manifest[key or url] = {"file": manifest[sibling]["file"]}
            removed[url] = f"served as {sibling}"
            progress = True
    for gone in before - {spec["file"] for spec in manifest.values() if spec.get("file")}:
        (site / gone).unlink(missing_ok=True)  # a page no entry serves any more
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return progress


def _note(site: Path, removed: dict[str, str]) -> None:
    path = site / "metadata.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except ValueError:
        data = {}
    if isinstance(data, dict) and removed:
        data["demo_copy"] = {"made_by": "python -m pipeline.tools.demo_sites --refresh",
                             "faults_of_the_test_fixture": dict(sorted(removed.items()))}
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def refresh(fixtures: Path = REPO / "tests" / "fixtures", config_path: Path = REPO / "config.yaml") -> list[str]:
    """Copy, clean, crawl and keep the clean sources; returns the slugs kept (each dropped one is printed)."""
    from pipeline.config import load_config
    from pipeline.ops.runner import crawl_sources

    config = load_config(config_path)
    data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    shutil.rmtree(SITES_DIR, ignore_errors=True)
    SITES_DIR.mkdir(parents=True)
    kept = []
    with tempfile.TemporaryDirectory() as scratch:
        for source in config.enabled_sources():
            site = fixtures / source.slug
            if not (site / "manifest.json").is_file():
                print(f"{source.slug}: no recorded site in {fixtures}: left out", file=sys.stderr)
                continue
            copy = SITES_DIR / source.slug
            shutil.copytree(site, copy, ignore=SKIPPED_FILES)
            removed: dict[str, str] = {}
            for attempt in range(MAX_ROUNDS):
                db = str(Path(scratch) / f"{source.slug}-{attempt}.db")
                [run] = crawl_sources(config, [source], db, replay=[str(copy)], parallel=1)
                if run["status"] == "ok" and not run["invalid"]:
                    break
                if not clean_copy(copy, failed_urls(run["message"]), removed):
                    break
            if run["status"] == "ok" and not run["invalid"]:
                kept.append(source.slug)
                _note(copy, removed)
                faults = f"; {len(removed)} faulty page(s) of the fixture removed" if removed else ""
                print(f"{source.slug}: clean ({run['new']} publications{faults})", file=sys.stderr)
            else:
                shutil.rmtree(copy)
                print(f"{source.slug}: left out of the demo ({run['status']}, {run['invalid']} invalid: "
                      f"{run['message']})", file=sys.stderr)
    data["sources"] = {slug: block for slug, block in data["sources"].items() if slug in kept}
    data["database"] = "demo.db"
    vocabulary = config_path.parent / str(data.get("topics_file") or "topics.yaml")
    if vocabulary.is_file():  # the demo's digest has its topic headings
        shutil.copyfile(vocabulary, DEMO_DIR / "topics.yaml")
        data["topics_file"] = "topics.yaml"
    DEMO_CONFIG.write_text(HEADER + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.tools.demo_sites", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--refresh", action="store_true", help="rebuild the demo's sites from tests/fixtures")
    args = parser.parse_args(argv)
    if args.refresh:
        kept = refresh()
        print(f"demo sites: {', '.join(kept) or 'none'} in {SITES_DIR}")
        return 0 if kept else 1
    print("\n".join(str(p) for p in demo_sites()) or "no demo sites: run with --refresh")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The recorded sites the ``demo`` command crawls, shipped with the package (``pipeline/tools/demo/``).

They are copies of the clean parts of ``tests/fixtures/<source>``: the test fixtures hold deliberate
faults (a 500, a cut-off page, a page without a date) that a first run must not greet a newcomer with.
``python -m pipeline.tools.demo_sites --refresh`` copies each source's recorded site, crawls the copy over
replay into a scratch database, and keeps only the sources whose crawl is ``ok``; it writes the demo's
``config.yaml`` (those sources, from the repository's config.yaml). Re-run it whenever the fixtures change.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

DEMO_DIR = Path(__file__).resolve().parent / "demo"
SITES_DIR = DEMO_DIR / "sites"
DEMO_CONFIG = DEMO_DIR / "config.yaml"
REPO = Path(__file__).resolve().parents[2]
SKIPPED_FILES = shutil.ignore_patterns("_reconstruct.py", "__pycache__")
HEADER = ("# The demo's configuration, written by `python -m pipeline.tools.demo_sites --refresh` from the\n"
          "# repository's config.yaml: the sources whose recorded site (sites/<slug>) crawls cleanly.\n")


def demo_sites() -> list[Path]:
    """The shipped recorded sites, one folder per source."""
    return sorted(p for p in SITES_DIR.iterdir() if (p / "manifest.json").is_file()) if SITES_DIR.is_dir() else []


def refresh(fixtures: Path = REPO / "tests" / "fixtures", config_path: Path = REPO / "config.yaml") -> list[str]:
    """Copy, crawl and keep the clean sources; returns the slugs kept (each dropped one is printed)."""
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
            [run] = crawl_sources(config, [source], str(Path(scratch) / f"{source.slug}.db"), replay=[str(copy)],
                                  parallel=1)
            if run["status"] == "ok" and not run["invalid"]:
                kept.append(source.slug)
                print(f"{source.slug}: clean ({run['new']} publications)", file=sys.stderr)
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
    parser = argparse.ArgumentParser(prog="python -m pipeline.tools.demo_sites", description=__doc__)
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

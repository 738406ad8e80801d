"""``new-source SLUG URL``: the files of a new coded source, in the manner of City Scrapers' generator.

It writes, from the templates in ``pipeline/tools/templates/``, ``spiders/<slug>.py`` (a SourceSpider
whose parsing is left to write and fails clearly until it is), ``tests/fixtures/<slug>/`` (an empty recorded
site to fill with ``record``), a test that fails until the spider yields items with a title and a date from
that recorded site, and a config block appended under ``sources:`` in config.yaml. Nothing is written when
the slug or the URL is invalid or the slug already taken.
"""

from __future__ import annotations

import json
import keyword
import re
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

import yaml

SLUG = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
# The characters RFC 3986 allows in a URL, less the quotes: anything else (a quote, a backslash, a space, a
# newline) has no business in a source's address, and refusing it keeps generated files plain.
URL_CHARS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&()*+,;=%]+$")
HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
TEMPLATES = Path(__file__).with_name("templates")


class ScaffoldError(Exception):
    """A slug or URL that cannot be scaffolded; one line for the maintainer."""


def check(root: Path, config_path: Path, slug: str, url: str) -> None:
    if not SLUG.match(slug) or keyword.iskeyword(slug) or slug.endswith("_"):
        raise ScaffoldError(f"invalid slug {slug!r}: lower-case letters, digits and underscores, starting with "
                            "a letter, 2 to 40 characters (e.g. ofsted_news)")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        parts, host = None, ""
    if not parts or parts.scheme not in ("http", "https") or not host:
        raise ScaffoldError(f"invalid URL {url!r}: give the absolute http(s) address of the source's listing")
    if not URL_CHARS.match(url) or not HOST.match(host) or parts.username or parts.password:
        raise ScaffoldError(f"invalid URL {url!r}: only the characters of a plain web address (no quotes, "
                            "spaces, backslashes or user:password@)")
    if not (root / "spiders").is_dir():
        raise ScaffoldError(f"no spiders/ folder in {root}: run from the repository root or give --root")
    taken = [str(p.relative_to(root)) for p in (root / "spiders" / f"{slug}.py", root / "tests" / "fixtures" / slug,
                                                root / "tests" / "spiders" / f"test_{slug}.py") if p.exists()]
    if slug in _config_sources(config_path):
        taken.append(f"{config_path.name}: sources.{slug}")
    if taken:
        raise ScaffoldError(f"source {slug!r} exists already: {', '.join(taken)}")


def _config_sources(config_path: Path) -> dict[str, object]:
    try:
        data = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ScaffoldError(f"config file not found: {config_path}") from None
    except yaml.YAMLError as exc:
        raise ScaffoldError(f"{config_path}: not valid YAML: {exc}") from None
    sources = data.get("sources") if isinstance(data, dict) else None
    if not isinstance(sources, dict):
        raise ScaffoldError(f"{config_path}: no `sources:` mapping to add the source to")
    return sources


def scaffold(root: Path, slug: str, url: str, config_path: Path | None = None) -> list[Path]:
    """Write the new source's files; return them. ScaffoldError (nothing written) for a bad slug or URL."""
    root = root.resolve()
    config_path = config_path or root / "config.yaml"
    check(root, config_path, slug, url)
    values = _template_values(slug, url)
    files = {
        root / "spiders" / f"{slug}.py": _render("spider.py.tmpl", values),
        root / "tests" / "fixtures" / slug / "manifest.json": "{}\n",
        root / "tests" / "fixtures" / slug / "metadata.json": json.dumps({
            "source": slug, "origin": "not recorded yet",
            "note": f"Empty until recorded: safeguarding-news record --source {slug} --out tests/fixtures/{slug}",
            "files": {}}, indent=2) + "\n",
        root / "tests" / "spiders" / f"test_{slug}.py": _render("test_spider.py.tmpl", values),
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    append_config_block(config_path, _render("config_block.yaml.tmpl", values))
    return [*files, config_path]


def append_config_block(config_path: Path, block: str) -> None:
    """Insert ``block`` at the end of the ``sources:`` section (which need not be the last section),
    keeping every comment and line of the file as it was."""
    lines = config_path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"^sources\s*:", line)), None)
    if start is None:
        raise ScaffoldError(f"{config_path}: no `sources:` section at the top level")
    end = next((i for i in range(start + 1, len(lines)) if lines[i][:1] not in ("", " ", "\t", "#", "\n", "\r")),
               len(lines))
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1  # blank lines and unindented comments before the next section stay with it
    if end and not lines[end - 1].endswith("\n"):
        lines[end - 1] += "\n"
    lines[end:end] = [block]
    config_path.write_text("".join(lines), encoding="utf-8")


def _class_name(slug: str) -> str:
    return "".join(p.capitalize() for p in slug.split("_")) + "Spider"


def _template_values(slug: str, url: str) -> dict[str, str]:
    """What the templates are filled with. A value that lands in Python source is a ``repr`` literal and one
    that lands in YAML a JSON string, so nothing in a URL can end a string and run as code."""
    host = urlsplit(url).hostname or ""
    return {"slug": slug, "cls": _class_name(slug), "host": host, "url": url,
            "slug_literal": repr(slug), "host_literal": repr(host), "url_literal": repr(url),
            "url_yaml": json.dumps(url)}


def _render(name: str, values: dict[str, str]) -> str:
    return Template((TEMPLATES / name).read_text(encoding="utf-8")).substitute(values)

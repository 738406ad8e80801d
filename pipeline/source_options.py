"""The ``options`` each spider reads, found in its source text (configuration never imports crawl code):
so that a misspelt option in config.yaml is refused at load, naming the key, instead of a crawl failing
later with "option ... is missing".

A spider's options are the string keys it reads from ``self.options`` (``options["key"]``,
``options.get("key")``), and the keys of a module-level ``DEFAULTS`` dict merged into them, in its module
and in the modules of the spiders it derives from (followed through ``from spiders.<module> import``).
A module that reads an option by a computed key makes its options unknowable: nothing is refused then.
"""

from __future__ import annotations

import difflib
import importlib.util
import re
from functools import cache
from pathlib import Path

GENERIC_MODULE = "_generic"  # the spiders of feed and sitemap sources


def _spiders_dir() -> Path | None:
    spec = importlib.util.find_spec("spiders")
    folders = list(spec.submodule_search_locations or []) if spec else []
    return Path(folders[0]) if folders else None


# Read from the source text with regular expressions: parsing every spider module with ``ast`` took a
# tenth of a second, at every command's start (benchmarks/startup.py).
_READ = re.compile(r"""\boptions\s*(?:\[\s*|\.get\(\s*)(?:(["'])(\w+)\1|(?P<computed>[^\s'"\])]))""")
_DEFAULTS = re.compile(r"^DEFAULTS\b[^=\n]*=\s*\{", re.M)
_KEY = re.compile(r"""(["'])(\w+)\1\s*:""")
_IMPORT = re.compile(r"^\s*from\s+spiders\.(\w+)\s+import\b", re.M)


@cache
def _module_options(module: str) -> frozenset[str] | None:
    """Option names read in ``spiders/<module>.py`` and the spider modules it imports; None if unknowable."""
    folder = _spiders_dir()
    path = folder / f"{module}.py" if folder else None
    if path is None or not path.is_file():
        return frozenset()
    text = path.read_text(encoding="utf-8")
    names: set[str] = set()
    for match in _READ.finditer(text):
        if match.group("computed"):
            return None
        names.add(match.group(2))
    for match in _DEFAULTS.finditer(text):
        names.update(key for _, key in _KEY.findall(_braced(text, match.end() - 1)))
    for imported in _IMPORT.findall(text):
        inherited = _module_options(imported)
        if inherited is None:
            return None
        names.update(inherited)
    return frozenset(names)


def _braced(text: str, opening: int) -> str:
    """The text from the brace at ``opening`` to its matching closing brace."""
    depth = 0
    for i in range(opening, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[opening:i + 1]
    return text[opening:]


def spider_options(slug: str, kind: str = "spider") -> frozenset[str] | None:
    """The options a source's spider reads (None when they cannot be known from its code)."""
    return _module_options(slug if kind == "spider" else GENERIC_MODULE)


def unknown_option(slug: str, kind: str, given: list[str]) -> str | None:
    """The first option in ``given`` the spider never reads, phrased for config.yaml; None if all are."""
    known = spider_options(slug, kind)
    if known is None:
        return None
    for name in given:
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            return (f"sources.{slug}.options: unknown option {name!r} for this spider{hint} "
                    f"(its options: {', '.join(sorted(known)) or 'none'})")
    return None

"""The ``options`` each spider reads, found in its source code with ``ast`` (configuration never imports
crawl code): so that a misspelt option in config.yaml is refused at load, naming the key, instead of a
crawl failing later with "option ... is missing".

A spider's options are the string keys it reads from ``self.options`` (``options["key"]``,
``options.get("key")``), and the keys of a module-level ``DEFAULTS`` dict merged into them, in its module
and in the modules of the spiders it derives from (followed through ``from spiders.<module> import``).
A module that reads an option by a computed key makes its options unknowable: nothing is refused then.
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
from functools import cache
from pathlib import Path

GENERIC_MODULE = "_generic"  # the spiders of feed and sitemap sources


def _spiders_dir() -> Path | None:
    spec = importlib.util.find_spec("spiders")
    folders = list(spec.submodule_search_locations or []) if spec else []
    return Path(folders[0]) if folders else None


@cache
def _module_options(module: str) -> frozenset[str] | None:
    """Option names read in ``spiders/<module>.py`` and the spider modules it imports; None if unknowable."""
    folder = _spiders_dir()
    path = folder / f"{module}.py" if folder else None
    if path is None or not path.is_file():
        return frozenset()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        key: ast.expr | None = None
        if isinstance(node, ast.Subscript) and _is_options(node.value):
            key = node.slice
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
              and _is_options(node.func.value) and node.args):
            key = node.args[0]
        elif _defaults(node):
            value = node.value  # type: ignore[attr-defined]
            names.update(k.value for k in value.keys if isinstance(k, ast.Constant) and isinstance(k.value, str))
        if key is not None:
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                return None
            names.add(key.value)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("spiders."):
            inherited = _module_options(str(node.module).split(".", 1)[1])
            if inherited is None:
                return None
            names.update(inherited)
    return frozenset(names)


def _defaults(node: ast.AST) -> bool:
    """``DEFAULTS = {...}`` (or annotated): option defaults a spider merges into its options."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    return (any(isinstance(t, ast.Name) and t.id == "DEFAULTS" for t in targets)
            and isinstance(getattr(node, "value", None), ast.Dict))


def _is_options(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "options") or (
        isinstance(node, ast.Name) and node.id == "options")


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

"""Every module of the package imports, and so do the libraries it loads lazily.

A dependency that is missing or broken on a fresh install (issue 21: lxml 6.1 without its `html_clean` extra left
trafilatura unable to import) fails here, in one obvious place, naming the module.
"""

from __future__ import annotations

import importlib
import pkgutil
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]


def _modules() -> list[str]:
    names: list[str] = []
    for package in PACKAGES:
        names.append(package)
        folder = ROOT / package.replace(".", "/")
        names += [f"{package}.{info.name}" for info in pkgutil.iter_modules([str(folder)])]
    return sorted(set(names))


def test_every_package_folder_is_declared() -> None:
    """A package folder left out of pyproject's list would be missing from an installed wheel."""
    declared = set(PACKAGES)
    for top in ("pipeline", "storage", "spiders"):
        for init in (ROOT / top).rglob("__init__.py"):
            name = ".".join(init.parent.relative_to(ROOT).parts)
            assert name in declared, f"{name} is a package but not listed in pyproject [tool.setuptools] packages"


@pytest.mark.parametrize("name", _modules())
def test_module_imports(name: str) -> None:
    importlib.import_module(name)


# Imported inside functions (they are slow to load), so a plain import of the package does not reach them.
LAZY = ["trafilatura", "justext", "lxml.html.clean", "lxml_html_clean", "htmldate", "feedparser", "feedgen.feed"]


@pytest.mark.parametrize("name", LAZY)
def test_lazy_dependency_imports(name: str) -> None:
    importlib.import_module(name)


def test_generic_extractor_reads_main_text() -> None:
    """trafilatura runs end to end (jusText and lxml.html.clean included), not merely imports."""
    from pipeline.items.extract import extract

    body = "<p>" + " ".join(["The panel published its annual review of serious incidents."] * 8) + "</p>"
    html = (f"<html><head><title>Annual review</title></head>"
            f"<body><article><h1>Annual review</h1>{body}</article></body></html>")
    page = extract(html, "https://example.org/news/annual-review")
    assert page.title == "Annual review"
    assert page.found["body_text"] == "trafilatura"
    assert "serious incidents" in page.body_text

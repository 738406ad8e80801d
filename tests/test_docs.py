"""The documentation says what the code does, and a newcomer can follow every link in it.

In the manner of sqlite-utils' test_docs.py: each command and option, each config key, each table, view
and column of the real database must be documented, and every command's --help must end with an example.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from pydantic import BaseModel

from pipeline.items.schema import PUBLICATION_COLUMNS, Publication
from storage.db import open_db
from tests.support import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("**/*.md"))
README_TEXT = README.read_text(encoding="utf-8")
ALL_DOCS = "\n".join(p.read_text(encoding="utf-8") for p in [README, *PAGES])
PAGES_LINKED_FROM_README = ("configuration", "operations", "analysts", "database", "crawling", "sources",
                            "performance", "architecture", "hardening")


def _text(page: str) -> str:
    return (DOCS / f"{page}.md").read_text(encoding="utf-8")


def _sections(text: str, pattern: str) -> str:
    """The text of every section whose heading matches ``pattern``, up to the next heading of its level or
    higher."""
    lines = text.splitlines()
    fenced, level_of = False, {}
    for i, line in enumerate(lines):
        fenced ^= line.startswith("```")
        if not fenced and (heading := re.match(r"^(#+) ", line)):
            level_of[i] = len(heading.group(1))
    found = []
    for i, level in level_of.items():
        if re.search(pattern, lines[i].lstrip("#").strip()):
            end = next((j for j, lv in level_of.items() if j > i and lv <= level), len(lines))
            found.append("\n".join(lines[i:end]))
    return "\n".join(found)


# ---------------------------------------------------------------- the README


def test_readme_is_short_and_links_every_docs_page():
    assert len(README_TEXT.splitlines()) <= 200
    for page in PAGES_LINKED_FROM_README:
        assert f"(docs/{page}.md)" in README_TEXT, f"README does not link docs/{page}.md"
    assert {p.stem for p in PAGES} == set(PAGES_LINKED_FROM_README)


def test_readme_names_every_command():
    """The README's list of commands is where a newcomer learns what there is: every command is in it."""
    missing = [name for name in sorted(_commands()) if f"`{name}`" not in README_TEXT]
    assert not missing, f"commands missing from the README's list: {missing}"


def test_readme_test_command_is_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = re.search(r"Install and run the tests.*?```sh\n(.+?)\n```", README_TEXT, re.S).group(1)
    assert command in ci


# ---------------------------------------------------------------- commands


def _commands() -> dict[str, click.Command]:
    from pipeline.cli import main

    return main.all_commands()


def _long_names(command: click.Command) -> list[str]:
    return [name for param in command.params if isinstance(param, click.Option)
            for name in param.opts + param.secondary_opts if name.startswith("--") and name != "--help"]


COMMON_OPTIONS = {"--db", "--config"}  # described once, in docs/configuration.md


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_command_and_option_is_documented(name):
    """A command is documented in a section headed by it (`` `search QUERY` ``), with each of its options."""
    section = _sections(ALL_DOCS, rf"`(?:safeguarding-news )?{re.escape(name)}[ `]")
    assert section, f"no documentation section headed `{name}` in README.md or docs/"
    missing = [o for o in _long_names(_commands()[name]) if o not in COMMON_OPTIONS and o not in section]
    assert not missing, f"options of {name} missing from its documentation section: {missing}"


def test_common_and_global_options_are_documented():
    from pipeline.cli import main

    for option in [*COMMON_OPTIONS, *_long_names(main)]:
        assert f"`{option}" in _text("configuration") + README_TEXT, f"{option} is not documented"


@pytest.mark.parametrize("name", [None, *sorted(_commands())])
def test_help_ends_with_an_example(name):
    from pipeline.cli import main

    result = CliRunner().invoke(main, [name, "--help"] if name else ["--help"])
    assert result.exit_code == 0, result.output
    last = result.output.rstrip().split("\n\n")[-1].strip()
    assert re.match(r"Examples?( \(.*\))?:\n", last), f"--help of {name or 'the group'} ends with:\n{last}"
    assert f"safeguarding-news {name or ''}".rstrip() in last


# ---------------------------------------------------------------- configuration


def _model(annotation: object) -> type[BaseModel] | None:
    """The pydantic model an annotation holds (``X``, ``X | None``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return next((m for a in typing.get_args(annotation) if (m := _model(a))), None)
    return None


# Set by load_config, never written in config.yaml.
INTERNAL_FIELDS = {"path", "sources.<slug>.slug"}
# A source's `health` takes any key of the top-level `health` section (documented there).
SAME_AS_TOP_LEVEL = {"sources.<slug>.health"}


def _config_keys(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    for name, field in model.model_fields.items():
        key = prefix + name
        if key in INTERNAL_FIELDS:
            continue
        yield key
        if key in SAME_AS_TOP_LEVEL:
            continue
        if typing.get_origin(field.annotation) is dict:
            inner = _model(typing.get_args(field.annotation)[1])
            if inner:
                yield from _config_keys(inner, f"{key}.<slug>.")
        elif inner := _model(field.annotation):
            yield from _config_keys(inner, f"{key}.")


def test_config_key_walk_reaches_nested_models():
    keys = set(_config_keys(__import__("pipeline.config", fromlist=["Config"]).Config))
    assert {"alerts.email.smtp_host", "sources.<slug>.schedule.cron", "politeness.redirect_max"} <= keys


def test_every_config_key_is_documented():
    from pipeline.config import Config

    page = _text("configuration")
    missing = sorted(k for k in _config_keys(Config) if f"`{k}`" not in page)
    assert not missing, f"config keys missing from docs/configuration.md: {missing}"


# ---------------------------------------------------------------- the database


def _real_schema(tmp_path: Path) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    db = open_db(tmp_path / "schema.db")
    fts = {t for t in db.table_names() if re.search(r"USING FTS\d", db[t].schema or "", re.I)}
    shadow = {f"{t}_{s}" for t in fts for s in ("data", "idx", "docsize", "config", "content")}
    tables = {t: list(db[t].columns_dict) for t in db.table_names() if t not in shadow}
    views = {v: list(db[v].columns_dict) for v in db.view_names()}
    return tables, views


def test_schema_table_matches_code_and_database(tmp_path):
    section = _sections(_text("database"), r"^`publications`")
    documented = dict(re.findall(r"^\| `(\w+)` \| (.+?) \|$", section, flags=re.M))
    assert documented == PUBLICATION_COLUMNS
    db = open_db(tmp_path / "x.db")
    assert set(db["publications"].columns_dict) == set(documented)
    kept_by_storage = {"first_seen_at", "last_seen_at", "version", "cluster_id"}
    assert set(Publication.__dataclass_fields__) == set(documented) - kept_by_storage


def test_every_table_view_and_column_is_documented(tmp_path):
    tables, views = _real_schema(tmp_path)
    assert "publications_fts" in tables and "publications_fts_data" not in tables
    page = _text("database")
    missing = []
    for name, columns in {**tables, **views}.items():
        section = _sections(page, rf"^`{re.escape(name)}`")
        if not section:
            missing.append(name)
            continue
        missing += [f"{name}.{c}" for c in columns if f"`{c}`" not in section]
    assert not missing, f"missing from docs/database.md (a section headed `name`, each column in it): {missing}"


# ---------------------------------------------------------------- links


def _documents() -> list[Path]:
    return [README, ROOT / "CONTRIBUTING.md", *PAGES]


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]", "", heading).strip().lower()
    return re.sub(r" ", "-", re.sub(r"[^\w\- ]", "", text))


def _anchors(path: Path) -> set[str]:
    text = _without_code_blocks(path.read_text(encoding="utf-8"))
    return {_slug(h) for h in re.findall(r"^#+ (.*)", text, re.M)}


def _without_code_blocks(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)


def _is_broken(page: Path, target: str) -> bool:
    """A relative link to a file outside the repository or missing, or to a heading that is not there."""
    file, _, anchor = target.partition("#")
    resolved = (page.parent / file).resolve() if file else page.resolve()
    if not resolved.exists() or ROOT.resolve() not in resolved.parents:
        return True
    return bool(anchor) and resolved.suffix == ".md" and anchor not in _anchors(resolved)


@pytest.mark.parametrize("path", _documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_and_mentioned_document_exists(path):
    text = _without_code_blocks(path.read_text(encoding="utf-8"))
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if not re.match(r"[a-z]+:", target) and _is_broken(path, target):  # absolute URLs are not checked
            broken.append(target)
    for mention in re.findall(r"[\w./-]*\w\.md\b", text):
        if not any((base / mention).exists() for base in (path.parent, ROOT, DOCS)):
            broken.append(mention)
    assert not broken, f"{path.name} refers to what is not in the repository: {broken}"


@pytest.mark.parametrize("path", _documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_reference_to_issues_outside_the_repository(path):
    text = path.read_text(encoding="utf-8")
    assert not re.findall(r"\bissues? #?\d+|\.\./shared\b", text, flags=re.I)


# ---------------------------------------------------------------- the layout


def _modules() -> set[str]:
    found = set()
    for package in ("pipeline", "storage", "spiders"):
        for path in (ROOT / package).rglob("*.py"):
            if path.name not in ("__init__.py", "__main__.py"):
                found.add(path.relative_to(ROOT).as_posix())
    return found


def test_architecture_names_every_module_and_only_modules_that_exist():
    page = _text("architecture")
    named = set(re.findall(r"`((?:pipeline|storage|spiders)/[\w/.-]+?)/?`", page))
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, f"docs/architecture.md names paths that do not exist: {missing}"
    unnamed = sorted(m for m in _modules() if f"`{m}`" not in page)
    assert not unnamed, f"modules missing from the layout in docs/architecture.md: {unnamed}"

"""The ``safeguarding-news`` command line (also ``python -m pipeline``).

One click group; each command lives in the module of the people it is for (``operators``, ``analysts``,
``maintainers``) and is imported only when it runs, so that ``--help`` and a quick command start fast.
A new command is a function in one of those modules (or a new one) and a line in ``COMMANDS``.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from typing import Any

import click

# command name → "module:function", loaded when the command is asked for
COMMANDS = {
    "crawl": "pipeline.cli.operators:crawl",
    "schedule": "pipeline.cli.operators:schedule",
    "status": "pipeline.cli.operators:status",
    "cluster": "pipeline.cli.operators:cluster",
    "search": "pipeline.cli.analysts:search",
    "search-index": "pipeline.cli.analysts:search_index",
    "export": "pipeline.cli.analysts:export",
    "feed": "pipeline.cli.analysts:feed",
    "digest": "pipeline.cli.analysts:digest",
    "topics": "pipeline.cli.topics:topics",
    "stats": "pipeline.cli.topics:stats",
    "record": "pipeline.cli.maintainers:record",
    "new-source": "pipeline.cli.maintainers:new_source",
    "demo": "pipeline.cli.demo:demo",
    "probe": "pipeline.cli.probe:probe",
}

# command name → its one-line help in `--help`, so that listing the commands imports none of them (the
# list would otherwise load every module, pydantic and SQLite libraries included). A command missing
# here is loaded for its own docstring's first sentence.
SHORT_HELP = {
    "crawl": "Crawl sources once and store what they publish.",
    "schedule": "Run the scheduler: each source on its schedule.",
    "status": "Per-source health; exit 1 when a source is unhealthy.",
    "cluster": "Group publications that tell the same story.",
    "search": "Full-text search of the publications.",
    "search-index": "Build or update the search index beside the database.",
    "export": "Publications as CSV, JSON or JSON Lines.",
    "feed": "An Atom feed of the newest stories.",
    "digest": "A CASPAR-style digest, Markdown or HTML.",
    "topics": "The topic vocabulary (topics.yaml).",
    "stats": "Publications per month, per source and topic.",
    "record": "Crawl a live site and save it as a recorded site.",
    "new-source": "Scaffold a coded source.",
    "demo": "Crawl the recorded sites shipped with the package (offline).",
    "probe": "Which doors of each source answer, and field coverage.",
}


# Quick read commands: they read with plain sqlite3 (storage.db.open_read); should they load sqlite_utils
# after all, it comes without numpy, which it imports (a tenth of a second) only to map numpy values to
# columns, which these never write (benchmarks/startup.py measures it).
WITHOUT_NUMPY = {"status", "search"}


def _sqlite_utils_without_numpy() -> None:
    if "sqlite_utils" in sys.modules or "numpy" in sys.modules:
        return
    sys.modules["numpy"] = None  # type: ignore[assignment]  # import numpy → ImportError, as if absent
    try:
        importlib.import_module("sqlite_utils")
    finally:
        del sys.modules["numpy"]  # a later import of numpy (a story step) works as usual


class _SqliteUtilsWithoutNumpy:
    """A meta path finder for the quick commands: should one come to import sqlite_utils after all (a
    database whose schema must be brought up to date, a module that names it), it is loaded without numpy."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> Any:
        if name != "sqlite_utils":
            return None
        from importlib.abc import Loader  # here: importlib.abc costs a few ms at start-up

        class Loaded(Loader):
            """The loader of a module already in sys.modules."""

            def create_module(self, spec: Any) -> Any:
                return sys.modules[spec.name]

            def exec_module(self, module: Any) -> None:
                return None

        sys.meta_path.remove(self)
        _sqlite_utils_without_numpy()  # does nothing when numpy is loaded already
        return importlib.util.spec_from_loader(name, Loaded()) if name in sys.modules else None


class LazyGroup(click.Group):
    """click's documented lazy-loading group: a command's module is imported when the command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            if cmd_name in WITHOUT_NUMPY and "sqlite_utils" not in sys.modules:
                sys.meta_path.insert(0, _SqliteUtilsWithoutNumpy())
            module, _, name = COMMANDS[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), name)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in SHORT_HELP and name not in self.commands:
                rows.append((name, SHORT_HELP[name]))
            elif (command := self.get_command(ctx, name)) is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(formatter.width - 6 - len(name))))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def all_commands(self) -> dict[str, click.Command]:
        """Every command, loaded (for the documentation test and --help of each)."""
        ctx = click.Context(self)
        return {name: command for name in self.list_commands(ctx) if (command := self.get_command(ctx, name))}


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=("\b\nExample:\n"
        "  safeguarding-news crawl --source csprp_govuk --replay tests/fixtures/csprp_govuk --db demo.db"))
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail to stderr.")
@click.version_option(package_name="safeguarding-news", prog_name="safeguarding-news")
def main(verbose: bool) -> None:
    """Collect UK child-safeguarding publications into SQLite.

    Every command has --help with an example. The documentation is README.md and docs/ in the repository.
    """
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)



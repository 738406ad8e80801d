"""The ``safeguarding-news`` command line (also ``python -m pipeline``).

One click group; each command lives in the module of the people it is for (``operators``, ``analysts``,
``maintainers``) and is imported only when it runs, so that ``--help`` and a quick command start fast.
A new command is a function in one of those modules (or a new one) and a line in ``COMMANDS``.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

# command name → "module:function", loaded when the command is asked for
COMMANDS = {
    "crawl": "pipeline.cli.operators:crawl",
    "schedule": "pipeline.cli.operators:schedule",
    "status": "pipeline.cli.operators:status",
    "cluster": "pipeline.cli.operators:cluster",
    "search": "pipeline.cli.analysts:search",
    "export": "pipeline.cli.analysts:export",
    "feed": "pipeline.cli.analysts:feed",
    "digest": "pipeline.cli.analysts:digest",
    "topics": "pipeline.cli.topics:topics",
    "stats": "pipeline.cli.topics:stats",
    "record": "pipeline.cli.maintainers:record",
    "new-source": "pipeline.cli.maintainers:new_source",
}


class LazyGroup(click.Group):
    """click's documented lazy-loading group: a command's module is imported when the command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            module, _, name = COMMANDS[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), name)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def all_commands(self) -> dict[str, click.Command]:
        """Every command, loaded (for the documentation test and --help of each)."""
        ctx = click.Context(self)
        return {name: command for name in self.list_commands(ctx) if (command := self.get_command(ctx, name))}


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=("\b\nExample:\n"
        "  safeguarding-news crawl --source csprp_govuk --replay tests/fixtures/csprp_govuk --db demo.db"))
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail to stderr.")
def main(verbose: bool) -> None:
    """Collect UK child-safeguarding publications into SQLite.

    Every command has --help with an example. The documentation is README.md and docs/ in the repository.
    """
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)



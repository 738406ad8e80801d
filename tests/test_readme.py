"""The README documents what the code does: the schema table, the commands and the config keys."""

import re

from pipeline.items.schema import PUBLICATION_COLUMNS, Publication
from storage.db import open_db
from tests.support import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _table_after(heading: str) -> dict[str, str]:
    section = README.split(heading, 1)[1]
    rows = re.findall(r"^\| `(\w+)` \| (.+?) \|$", section.split("\n\n###", 1)[0], flags=re.M)
    return dict(rows)


def test_schema_table_matches_code_and_database(tmp_path):
    documented = _table_after("### `publications`")
    assert documented == PUBLICATION_COLUMNS
    db = open_db(tmp_path / "x.db")
    assert set(db["publications"].columns_dict) == set(documented)
    kept_by_storage = {"first_seen_at", "last_seen_at", "version", "cluster_id"}
    assert set(Publication.__dataclass_fields__) == set(documented) - kept_by_storage


def test_every_command_is_documented():
    from pipeline.cli import main

    for name in main.commands:
        assert f"`{name}" in README, f"command {name} is not in the README"


def test_every_config_key_is_documented():
    from pipeline.config import (
        AlertSettings,
        Config,
        CrawlSettings,
        EmailSettings,
        HealthSettings,
        Politeness,
        SchedulerSettings,
        Source,
    )

    keys = {f"`{k}`" for k in Config.model_fields if k not in ("sources", "path", "crawl", "politeness")}
    keys |= {f"`crawl.{k}`" for k in CrawlSettings.model_fields}
    keys |= {f"`politeness.{k}`" for k in Politeness.model_fields}
    keys |= {f"`sources.<slug>.{k}`" for k in Source.model_fields if k != "slug"}
    keys |= {f"`scheduler.{k}`" for k in SchedulerSettings.model_fields}
    keys |= {f"`health.{k}`" for k in HealthSettings.model_fields}
    keys |= {f"`alerts.{k}`" for k in AlertSettings.model_fields}
    keys |= {f"`alerts.email.{k}`" for k in EmailSettings.model_fields}
    missing = sorted(k for k in keys if k not in README)
    assert not missing, f"config keys missing from README: {missing}"


def test_readme_test_command_is_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = re.search(r"Install and run the tests.*?```sh\n(.+?)\n```", README, re.S).group(1)
    assert command in ci

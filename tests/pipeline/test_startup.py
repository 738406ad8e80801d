"""Quick start of `status` and `search` (issue 18): the quick view of config.yaml agrees with the full
model and refuses a bad value in one line, cron times without APScheduler agree with APScheduler, the
plain sqlite3 read path, no heavy module imported; and `status`'s small wordings (a source never crawled,
the busy timeout)."""

import json
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from pipeline.config import load_config
from pipeline.config_file import ConfigError, load_quick_config
from pipeline.schedules import CronFields, cron_trigger, previous_fire, zone
from tests.support import CONFIG, ROOT

DEMO_CONFIG = ROOT / "pipeline" / "tools" / "demo" / "config.yaml"
# tantivy: `search` loads it only when the database has a search index beside it (this one has none)
HEAVY = ("pydantic", "sqlite_utils", "numpy", "scrapy", "twisted", "rich", "apscheduler", "tantivy")


def cli(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def write(tmp_path, data):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def view(config):
    """What status and search read, from a Config or a QuickConfig."""
    return {
        "database": config.database, "topics_file": config.topics_file, "path": config.path,
        "crawl": (config.crawl.timeout_seconds, config.crawl.log_format),
        "scheduler": (config.scheduler.timezone, config.scheduler.jitter_seconds),
        "overdue": config.health.overdue_grace_hours,
        "sources": {slug: (s.enabled, str(s.schedule), s.schedule.cron, s.schedule.interval_hours,
                           config.health_for(slug).overdue_grace_hours) for slug, s in config.sources.items()},
        "enabled": [s.slug for s in config.enabled_sources()],
    }


@pytest.mark.parametrize("path", [CONFIG, DEMO_CONFIG], ids=["config.yaml", "demo"])
def test_the_quick_view_of_config_reads_what_the_full_model_reads(path):
    assert view(load_quick_config(path)) == view(load_config(path))


def test_the_quick_view_has_the_full_model_s_defaults(tmp_path):
    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    slug, block = next(iter(data["sources"].items()))
    minimal = {"user_agent": data["user_agent"], "sources": {slug: {
        k: v for k, v in block.items() if k not in ("schedule", "enabled", "health")}}}
    path = write(tmp_path, minimal)
    assert view(load_quick_config(path)) == view(load_config(path))
    minimal["sources"][slug].update(enabled="no", schedule={"interval_hours": 6}, health={"overdue_grace_hours": 3})
    minimal["scheduler"] = {"timezone": "Europe/London", "jitter_seconds": 10}
    path = write(tmp_path, minimal)
    assert view(load_quick_config(path)) == view(load_config(path))


@pytest.mark.parametrize(("edit", "named"), [
    (lambda d: d["sources"]["csprp_govuk"].update(schedule="0 25 * * *"), "sources.csprp_govuk.schedule.cron"),
    (lambda d: d["sources"]["csprp_govuk"].update(schedule="every day"), "sources.csprp_govuk.schedule.cron"),
    (lambda d: d["sources"]["csprp_govuk"].update(schedule={"cron": "0 6 * * *", "interval_hours": 2}),
     "sources.csprp_govuk.schedule"),
    (lambda d: d["sources"]["csprp_govuk"].update(enabled="maybe"), "sources.csprp_govuk.enabled"),
    (lambda d: d.update(scheduler={"timezone": "Mars/Olympus"}), "scheduler.timezone"),
    (lambda d: d.update(crawl={"timeout_seconds": -1}), "crawl.timeout_seconds"),
    (lambda d: d.update(health={"overdue_grace_hours": "soon"}), "health.overdue_grace_hours"),
    (lambda d: d.update(sources=[]), "sources"),
])
def test_a_broken_config_is_one_line_naming_the_key_for_status_and_search(tmp_path, edit, named):
    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    edit(data)
    path = write(tmp_path, data)
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_quick_config(path)
    with pytest.raises(ConfigError):  # the full model refuses it too
        load_config(path)
    db = tmp_path / "x.db"
    db.write_bytes(b"")
    for args in (["status"], ["search", "neglect"]):
        result = cli(*args, "--config", str(path), "--db", str(db))
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert named in result.stderr


def test_not_valid_yaml_is_the_same_line_for_quick_and_full(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("sources: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError) as quick:
        load_quick_config(path)
    with pytest.raises(ConfigError) as full:
        load_config(path)
    assert str(quick.value) == str(full.value) and "not valid YAML at line" in str(quick.value)


EXPRESSIONS = ["0 6 * * *", "30 7 * * *", "0 7 * * mon", "*/15 * * * *", "0 9-17 * * 1-5", "5/20 3 * * 0",
               "0 2 * * sun", "30 1 * 3,10 *", "0 6 15 * fri", "0 12 * jan-mar *", "0 0 29 2 *", "45 23 31 * *",
               "0 1,2,3 * * 7", "0 6 * * 1-5/2"]


@pytest.mark.parametrize("tz", ["UTC", "Europe/London", "America/New_York"])
def test_cron_times_without_apscheduler_are_apscheduler_s(tz):
    rng = random.Random(18)
    refs = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(60 * 24 * 730)) for _ in range(25)]
    refs += [datetime(2024, 3, 31, 0, 30, tzinfo=UTC) + timedelta(minutes=17 * i) for i in range(10)]  # spring gap
    refs += [datetime(2024, 10, 27, 0, 10, tzinfo=UTC) + timedelta(minutes=13 * i) for i in range(10)]  # autumn
    for expr in EXPRESSIONS:
        fields = CronFields.parse(expr)
        assert fields is not None, expr
        for ref in refs:
            ours, theirs = fields.previous(ref, zone(tz)), previous_fire(cron_trigger(expr, tz), ref)
            assert ours.astimezone(UTC) == theirs.astimezone(UTC), (expr, tz, ref)


def test_cron_times_where_apscheduler_skips_a_month_across_a_dst_change():
    ref = datetime(2025, 4, 24, 5, 4, tzinfo=UTC)
    assert CronFields.parse("0 0 1 * *").previous(ref, zone("Europe/London")) == \
        datetime(2025, 3, 31, 23, 0, tzinfo=UTC)  # 1 April, midnight in London
    assert previous_fire(cron_trigger("0 0 1 * *", "Europe/London"), ref).month == 3  # APScheduler 3.x


def test_what_the_quick_parser_does_not_read_goes_to_apscheduler():
    assert CronFields.parse("0 6 L * *") is None and CronFields.parse("0 6 * * *") is not None


def test_the_read_path_knows_every_migration_and_opens_a_current_database_with_plain_sqlite3(tmp_path):
    from sqlite_utils import Database

    from storage.db import open_db, open_read, schema_names
    from storage.migrations import migrations

    assert schema_names() == {m.name for m in migrations._migrations}
    path = tmp_path / "x.db"
    open_db(path).close()
    quick = open_read(path)
    assert not isinstance(quick, Database)
    assert list(quick.query("select name from _sqlite_migrations where name = ?", ["m001_contract_tables"])) == [
        {"name": "m001_contract_tables"}]
    quick.close()
    old = tmp_path / "old.db"
    old.write_bytes(b"")  # an empty file: no schema yet, so the long way, which brings it up to date
    slow = open_read(old)
    assert isinstance(slow, Database) and "publications" in slow.table_names()
    slow.close()


PROBE = """
import runpy, sys, json
sys.argv = ["safeguarding-news", *json.loads(sys.argv[1])]
try:
    runpy.run_module("pipeline", run_name="__main__")
except SystemExit:
    pass
sys.stdout = sys.__stdout__
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)), file=sys.stderr)
"""


def test_status_and_search_import_no_heavy_module(tmp_path):
    db = tmp_path / "x.db"
    site = ROOT / "pipeline" / "tools" / "demo" / "sites" / "csprp_govuk"
    assert cli("crawl", "--source", "csprp_govuk", "--replay", str(site), "--db", str(db), "--quiet",
               timeout=120).returncode == 0
    for args in (["status", "--db", str(db)], ["search", "neglect", "--db", str(db)]):
        out = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), json.dumps(args)], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
        loaded = json.loads(out.stderr.strip().splitlines()[-1])
        assert loaded == [], (args, loaded)


def test_a_source_never_crawled_is_not_shown_as_ok(tmp_path):
    from pipeline.cli.operators import _status_text

    entry = {"source": "iwf", "status": "never run", "healthy": True, "problems": [], "alerts": [],
             "last_success_age": "", "log_path": None}
    line = _status_text([entry]).splitlines()[2]
    assert line.endswith("not yet crawled") and " ok" not in line
    assert _status_text([{**entry, "status": "ok"}]).splitlines()[2].endswith("ok")
    assert _status_text([{**entry, "healthy": False}]).splitlines()[2].endswith("UNHEALTHY")

"""storage/datasette-metadata.yml loaded by Datasette itself, against a database of the pipeline."""

import asyncio
import json
import subprocess
import sys

import pytest
import yaml

from pipeline.items.schema import PUBLICATION_COLUMNS
from storage.migrations import ANALYST_VIEWS
from tests.pipeline.outputs_data import HOSTILE_TITLE, build_db
from tests.support import ROOT

METADATA = ROOT / "storage" / "datasette-metadata.yml"


def load_metadata():
    return yaml.safe_load(METADATA.read_text(encoding="utf-8"))


def test_metadata_describes_every_publication_column_and_view():
    tables = load_metadata()["databases"]["safeguarding"]["tables"]
    assert set(tables["publications"]["columns"]) == set(PUBLICATION_COLUMNS)
    assert set(ANALYST_VIEWS) <= set(tables)
    assert all(tables[name].get("description") for name in ANALYST_VIEWS)


@pytest.fixture
def datasette(tmp_path):
    datasette_app = pytest.importorskip("datasette.app")
    db = build_db(tmp_path / "safeguarding.db")  # Datasette names the database after its file
    return datasette_app.Datasette([str(db)], metadata=load_metadata())


def get(ds, path):
    async def fetch():
        return await ds.client.get(path)

    return asyncio.run(fetch())


def test_canned_queries_run(datasette):
    latest = get(datasette, "/safeguarding/latest.json?_shape=array")
    assert latest.status_code == 200, latest.text
    assert [r["title"] for r in latest.json()][:2] == [
        "CASPAR briefing: Child Safeguarding Practice Review Panel annual report 2023/24", "Podcast: online safety"]
    found = get(datasette, "/safeguarding/search.json?_shape=array&text=child%27s+%22safety%22+-+online")
    assert found.status_code == 200 and found.json() == []  # user text is quoted by escape_fts
    found = get(datasette, "/safeguarding/search.json?_shape=array&text=script")
    assert [r["title"] for r in found.json()] == [HOSTILE_TITLE] and "[script]" in found.json()[0]["snippet"]
    assert get(datasette, "/safeguarding/search.json?_shape=array&text=").json() == []
    stories = get(datasette, "/safeguarding/stories_across_sources.json?_shape=array").json()
    assert [(s["title"], s["size"]) for s in stories] == [("Child safeguarding incidents", 2)]
    changes = get(datasette, "/safeguarding/changes_since.json?_shape=array&since=2024-01-01")
    assert changes.status_code == 200 and changes.json() == []


def test_pages_show_descriptions_and_escape_content(datasette):
    page = get(datasette, "/safeguarding/publications")
    assert page.status_code == 200
    assert "canonical URL of the publication" in page.text  # a column description
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;alert(1)" in page.text
    for view in ANALYST_VIEWS:
        assert get(datasette, f"/safeguarding/{view}").status_code == 200, view


def test_the_readme_command_serves_the_canned_queries(tmp_path):
    pytest.importorskip("datasette")
    db = build_db(tmp_path / "safeguarding.db")
    result = subprocess.run(
        [sys.executable, "-m", "datasette", str(db), "--metadata", str(METADATA),
         "--get", "/safeguarding/stories_across_sources.json?_shape=array"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert [s["title"] for s in json.loads(result.stdout)] == ["Child safeguarding incidents"]


def test_the_dashboard_of_publications_per_month_per_source_and_topic(tmp_path):
    """Datasette with the datasette-dashboards plugin, started on a fixture database with its topics: the
    dashboard page, and each chart's query answering with the counts `stats` prints."""
    pytest.importorskip("datasette_dashboards")
    from tests.support import CONFIG, run_cli

    db = build_db(tmp_path / "safeguarding.db")
    assert run_cli("topics", "reassign", "--db", str(db), "--config", str(CONFIG)).exit_code == 0
    dashboards = load_metadata()["plugins"]["datasette-dashboards"]
    charts = dashboards["publications"]["charts"]
    assert set(charts) == {"per-source", "per-topic", "topics"}

    def get(path):
        result = subprocess.run([sys.executable, "-m", "datasette", str(db), "--metadata", str(METADATA),
                                 "--get", path], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout

    page = get("/-/dashboards/publications")
    assert "<title>Publications per month</title>" in page
    assert all(f'id="card-{slug}"' in page for slug in charts)
    assert "Publications per month per primary topic" in get("/-/dashboards/publications/per-topic")
    from urllib.parse import quote

    per_source = json.loads(get(f"/safeguarding.json?_shape=array&sql={quote(charts['per-source']['query'])}"))
    december = {r["source"]: r["publications"] for r in per_source if r["month"] == "2024-12"}
    assert december == {"csprp_govuk": 1}
    per_topic = json.loads(get(f"/safeguarding.json?_shape=array&sql={quote(charts['per-topic']['query'])}"))
    assert sum(r["publications"] for r in per_topic) == sum(r["publications"] for r in per_source)
    topics = json.loads(get(f"/safeguarding.json?_shape=array&sql={quote(charts['topics']['query'])}"))
    assert topics and all(t["any_topic"] >= t["primary_topic"] for t in topics)

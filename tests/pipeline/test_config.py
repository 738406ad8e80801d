import textwrap

import pytest

from pipeline.config import ConfigError, load_config
from tests.support import CONFIG, run_cli

GOOD = """
database: data/news.db
user_agent: "safeguarding-news/0.1 (contact: team@example.org)"
sources:
  csprp_govuk:
    name: Panel on GOV.UK
    organisation: Child Safeguarding Practice Review Panel
    allowed_domains: [www.gov.uk]
    options: {organisation_slug: child-safeguarding-practice-review-panel}
"""


def write(tmp_path, text):
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_repository_config_loads_and_is_frozen():
    config = load_config(CONFIG)
    source = config.source("csprp_govuk")
    assert source.allowed_domains == ("www.gov.uk",)
    assert "@" in config.user_agent
    with pytest.raises(Exception, match="frozen"):
        config.database = "other.db"  # type: ignore[misc]


def test_defaults_fill_optional_sections(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    assert config.database == "data/news.db"
    assert config.politeness.obey_robots_txt is True
    assert config.crawl.batch_size == 100
    assert [s.slug for s in config.enabled_sources()] == ["csprp_govuk"]


def test_environment_overrides_database_only(tmp_path, monkeypatch):
    monkeypatch.setenv("SAFEGUARDING_NEWS_DB", "/tmp/env.db")
    assert load_config(write(tmp_path, GOOD)).database == "/tmp/env.db"
    assert load_config(write(tmp_path, GOOD), db_override="cli.db").database == "cli.db"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD + "colour: blue\n", r"colour: Extra inputs are not permitted"),
        (GOOD.replace("[www.gov.uk]", "[www.gov.uk]\n    enabled: maybe"),
         r"sources\.csprp_govuk\.enabled: Input should be a valid boolean.*maybe"),
        (GOOD + "politeness: {download_delay: -1}\n", r"politeness\.download_delay: .*greater than or equal"),
        (GOOD.replace("csprp_govuk:", "no_such_site:"), r"sources\.no_such_site: no spider module"),
        (GOOD.replace("(contact: team@example.org)", "(no contact)"), r"user_agent: .*contact address"),
        (GOOD.replace("    allowed_domains: [www.gov.uk]\n", ""), r"allowed_domains: Field required"),
        ("sources: [1, 2\n", r"not valid YAML at line"),
        ("just a string\n", r"expected a mapping"),
        ("user_agent: x@y\n", r"at least one source"),
    ],
)
def test_config_errors_name_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text))


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_unknown_source_asked_for_by_name():
    with pytest.raises(ConfigError, match="unknown source 'nope'; known sources: .*csprp_govuk"):
        load_config(CONFIG).source("nope")


@pytest.mark.parametrize(
    "args",
    [
        ["status", "--config", "MISSING"],
        ["crawl", "--source", "no_such_source", "--config", str(CONFIG)],
    ],
)
def test_cli_reports_config_problems_in_one_line_with_exit_2(tmp_path, args):
    args = [str(tmp_path / "missing.yaml") if a == "MISSING" else a for a in args]
    result = run_cli(*args, "--db", str(tmp_path / "x.db"))
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith("error: ")
    assert "Traceback" not in result.output


def test_an_unexpected_error_is_one_line_not_a_traceback(tmp_path, monkeypatch):
    import pipeline.ops.runner

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pipeline.ops.runner, "crawl_sources", broken)
    result = run_cli("crawl", "--source", "csprp_govuk", "--config", str(CONFIG), "--db", str(tmp_path / "x.db"))
    assert result.exit_code == 1
    assert result.output == "error: unexpected RuntimeError: disk on fire (run with -v for the traceback)\n"

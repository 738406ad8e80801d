"""Every recorded site crawled together, twice: the seed page's stories, no URL twice, nothing new."""

import pytest

from pipeline.config import load_config
from tests.support import CONFIG, FIXTURES, query, run_cli

pytestmark = pytest.mark.e2e
SLUGS = sorted(s.slug for s in load_config(CONFIG).enabled_sources() if (FIXTURES / s.slug).is_dir())
GOVUK = "https://www.gov.uk/government/publications/"


@pytest.fixture(scope="module")
def crawled_twice(tmp_path_factory):
    db = tmp_path_factory.mktemp("all") / "all.db"
    args = ["crawl", "--db", str(db), "--config", str(CONFIG)]
    for slug in SLUGS:
        args += ["--replay", str(FIXTURES / slug)]
    results = [run_cli(*args), run_cli(*args)]
    return db, results


def members(db, url):
    rows = query(db, "select cluster_id from publications where url = ?", (url,))
    assert rows and rows[0]["cluster_id"] is not None, f"{url} is in no story"
    return {(r["source"], r["url"]) for r in query(
        db, "select source, url from publications where cluster_id = ?", (rows[0]["cluster_id"],))}


def test_every_source_ran_both_times(crawled_twice):
    db, results = crawled_twice
    runs = query(db, "select source, status from runs order by id")
    assert sorted(r["source"] for r in runs) == sorted(SLUGS * 2)
    assert all(r["status"] in ("ok", "partial") for r in runs), runs
    assert "Traceback" not in results[0].output + results[1].output


def test_the_seed_pages_annual_report_is_one_story(crawled_twice):
    db, _ = crawled_twice
    story = members(db, GOVUK + "child-safeguarding-practice-review-panel-annual-report-2023-to-2024")
    sources = {s for s, _ in story}
    assert {"csprp_govuk", "csprp_panel_site", "nspcc_learning"} <= sources
    nspcc = [u for s, u in story if s == "nspcc_learning"]
    assert nspcc == ["https://learning.nspcc.org.uk/research-resources/2025/"
                     "summary-child-safeguarding-practice-review-panel-csprp-annual-report-2023-24"]
    assert not any("2022-to-2023" in u for _, u in story)
    cluster = query(db, "select c.* from clusters c join publications p on p.cluster_id = c.id where p.url = ?",
                    (GOVUK + "child-safeguarding-practice-review-panel-annual-report-2023-to-2024",))[0]
    assert cluster["size"] == len(story)
    assert cluster["first_published_at"] == "2024-02-02", "the Panel's own site dates it earliest"


def test_the_national_review_is_another_story(crawled_twice):
    db, _ = crawled_twice
    review = members(db, GOVUK + "i-wanted-them-all-to-notice-protecting-children-from-sexual-abuse-within-"
                             "the-family-environment")
    assert {s for s, _ in review} >= {"csprp_govuk", "nspcc_learning"}
    annual = members(db, GOVUK + "child-safeguarding-practice-review-panel-annual-report-2023-to-2024")
    assert review.isdisjoint(annual)


def test_second_crawl_adds_nothing(crawled_twice):
    db, _ = crawled_twice
    assert query(db, "select count(*) n from (select url from publications group by url having count(*) > 1)"
                 )[0]["n"] == 0
    assert query(db, "select count(*) n from publication_versions")[0]["n"] == 0
    second = query(db, "select source, new, updated from runs order by id desc limit ?", (len(SLUGS),))
    assert all(r["new"] == 0 and r["updated"] == 0 for r in second), second

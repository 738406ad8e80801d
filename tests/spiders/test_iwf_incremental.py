"""IWF crawls incrementally: stored articles not newer on their listing card are not fetched again."""

import pytest

from pipeline.config import load_config
from spiders.iwf import IwfSpider
from tests.support import CONFIG, FIXTURES, query, run_cli

SITE = FIXTURES / "iwf"
OPTIONS = dict(load_config(CONFIG).source("iwf").options)
SLASH = {"SGN_TRAILING_SLASH": load_config(CONFIG).source("iwf").trailing_slash}


def known_after_first_crawl():
    first = crawl_offline_full()
    return {p.url: p.updated_at or p.published_at or "" for p in first.publications("strip")}, first


def crawl_offline_full():
    from tests.support import crawl_offline

    return crawl_offline(IwfSpider, SITE, OPTIONS)


def test_second_walk_fetches_no_stored_article():
    from tests.support import crawl_offline

    known, first = known_after_first_crawl()
    articles = [u for u in first.requested if "/news-media/news/" in u or "/news-media/blogs/" in u]
    assert any("?page=" not in u for u in articles)
    second = crawl_offline(IwfSpider, SITE, OPTIONS, spider_kwargs={"known": known, "full_walk": False},
                           settings=SLASH)
    feed = "https://www.iwf.org.uk/news-media/feed"
    fetched = [u for u in second.requested if "?page=" not in u and u.rstrip("/") != feed]
    assert fetched == [], "no article page is fetched again"
    assert second.items == []
    assert len(second.spider.run_log.unchanged) == len(set(second.spider.run_log.unchanged)) >= 5
    assert [u for u in second.requested if "?page=2" in u] == [], "the walk stops at a page of stored articles"


def test_a_newer_card_date_is_fetched_again():
    from tests.support import crawl_offline

    known, _ = known_after_first_crawl()
    url = next(u for u in known if "new-ai-child-sexual-abuse-laws" in u)
    known[url] = "2020-01-01"  # stored long before the date its card shows now
    second = crawl_offline(IwfSpider, SITE, OPTIONS, spider_kwargs={"known": known, "full_walk": False},
                           settings=SLASH)
    assert [i.url.rstrip("/") for i in second.items] == [url]


@pytest.mark.e2e
def test_recrawl_of_the_unchanged_site_downloads_no_article(tmp_path):
    db = tmp_path / "x.db"
    for _ in range(2):
        run_cli("crawl", "--source", "iwf", "--replay", str(SITE), "--db", str(db), "--config", str(CONFIG))
    first, second = query(db, "select * from runs order by id")
    assert first["new"] == 14
    assert (second["new"], second["updated"]) == (0, 0)
    assert 0 < second["unchanged"] < 14, "what the first listing pages show; the walk stops there"
    assert second["pages"] <= 3, "the feed probe and the first page of each listing, no article"
    assert "404" not in first["http_errors"], "the feed probe's 404 is expected, not a failure"
    assert query(db, "select count(*) n from publication_versions")[0]["n"] == 0

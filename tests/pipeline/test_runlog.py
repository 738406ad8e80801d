from pipeline.crawl.runlog import Problem, Refusal, RunLog, Skip, run_log_of
from spiders._base import SourceSpider


def test_the_pipeline_takes_unchanged_urls_once_without_touching_the_spider():
    log = RunLog()
    log.add_unchanged("https://x.org/a")
    log.add_unchanged("https://x.org/b")
    assert log.take_unchanged() == ["https://x.org/a", "https://x.org/b"]
    assert log.take_unchanged() == [] and log.unchanged == []
    log.add_unchanged("https://x.org/c")
    assert log.unchanged == ["https://x.org/c"], "a later one waits for the next flush"


def test_errors_and_skips_read_as_the_run_message_shows_them():
    log = RunLog()
    log.add_error("https://x.org/a", "HTTP 500")
    log.add_skip("https://x.org/b", "translation (cy)", "2024-01-02")
    log.add_skip("https://x.org/c", "redirect")
    assert log.error_messages() == ["HTTP 500: https://x.org/a"]
    assert log.skip_messages() == ["translation (cy): https://x.org/b", "redirect: https://x.org/c"]
    assert log.remembered_skips() == [Skip("https://x.org/b", "translation (cy)", "2024-01-02")]
    assert log.failed_urls() == {"https://x.org/a"} and log.errors == [Problem("https://x.org/a", "HTTP 500")]


def test_door_refusals_and_fallbacks_are_records_not_strings():
    log = RunLog()
    assert log.use_door("feed") is True and log.use_door("feed") is False and log.door == "feed"
    log.add_refusal("robots", "https://x.org/private", "forbidden by robots.txt")
    log.add_fallback("https://x.org/a", ["title"])
    assert log.refusals == [Refusal("robots", "https://x.org/private", "forbidden by robots.txt")]
    assert [(f.url, f.fields) for f in log.fallbacks] == [("https://x.org/a", ("title",))]


def test_a_source_spider_owns_its_run_log_and_shows_it_read_only():
    class Demo(SourceSpider):
        name = "demo"

    spider = Demo()
    spider.record_error("https://x.org/a", "HTTP 404")
    spider.record_skip("https://x.org/b", "gone")
    spider.use_door("listings")
    assert run_log_of(spider) is spider.run_log and run_log_of(object()) is None
    assert (spider.errors, spider.skipped, spider.door) == (["HTTP 404: https://x.org/a"], ["gone: https://x.org/b"],
                                                            "listings")

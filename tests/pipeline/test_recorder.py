import pytest

from pipeline.crawl.store_pipeline import http_error_counts, run_stats, run_status, summary_message


@pytest.mark.parametrize(
    ("stored", "errors", "reason", "status"),
    [
        (10, 0, "finished", "ok"),
        (0, 0, "finished", "ok"),  # a source with nothing new is healthy
        (10, 2, "finished", "partial"),
        (0, 2, "finished", "failed"),
        (10, 0, "shutdown", "interrupted"),
        (0, 3, "shutdown", "interrupted"),
    ],
)
def test_run_status(stored, errors, reason, status):
    assert run_status(stored=stored, errors=errors, reason=reason) == status


def test_http_error_counts_leave_out_what_is_normal_or_deliberate():
    stats = {
        "downloader/response_status_count/200": 30,
        "downloader/response_status_count/404": 3,
        "robotstxt/response_status_count/404": 1,  # no robots.txt: normal
        "sgn/expected_status/404": 1,  # a feed probe the spider expected to miss
        "downloader/response_status_count/500": 4,
        "downloader/exception_type_count/twisted.internet.error.TimeoutError": 2,
        "downloader/exception_type_count/pipeline.crawl.guards.MediaRefused": 5,  # refused on purpose
        "downloader/exception_type_count/pipeline.crawl.guards.MediaAborted": 1,
        "downloader/exception_type_count/scrapy.exceptions.IgnoreRequest": 1,
    }
    assert http_error_counts(stats) == {"404": 1, "500": 4, "TimeoutError": 2}


def test_run_stats_keep_only_our_counters():
    assert run_stats({"sgn/parsed": 2, "media/refused_url": 1, "downloader/request_count": 9}) == {
        "media/refused_url": 1, "sgn/parsed": 2}


def test_summary_message_names_urls_and_caps_length():
    errors = [f"HTTP 500: https://example.org/{i}" for i in range(7)]
    message = summary_message(errors, ["no title at https://example.org/x"])
    assert message.startswith("HTTP 500: https://example.org/0; HTTP 500: https://example.org/1")
    assert message.endswith("(+3 more)")

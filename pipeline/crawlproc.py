"""The crawl of one source, run as its own process (``python -m pipeline.crawlproc``) by the runner.

Twisted's reactor cannot restart, and a crash or a leak in one crawl must stay contained; the parent
creates the run row and passes its id, this process fills it in and closes it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from pipeline.config import Config, Source, load_config
from pipeline.logs import use_log_format
from pipeline.record import with_recording
from pipeline.sources import spider_for


def scrapy_settings(config: Config, source: Source, db_path: str, run_id: int,
                    replay_address: str | None) -> dict[str, Any]:
    p = config.politeness
    settings: dict[str, Any] = {
        "BOT_NAME": "safeguarding-news",
        "SPIDER_MODULES": ["spiders"],
        "USER_AGENT": config.user_agent,
        "ROBOTSTXT_OBEY": p.obey_robots_txt,
        "DOWNLOAD_DELAY": p.download_delay,
        "CONCURRENT_REQUESTS_PER_DOMAIN": p.concurrent_requests_per_domain,
        "AUTOTHROTTLE_ENABLED": p.autothrottle,
        "DOWNLOAD_TIMEOUT": p.download_timeout,
        "RETRY_TIMES": p.retry_times,
        "DOWNLOAD_MAXSIZE": p.max_response_bytes,
        "DOWNLOAD_WARNSIZE": p.max_response_bytes // 2,
        # No session is needed to read public pages, and no cookie of a child-protection site is kept.
        "COOKIES_ENABLED": False,
        # An unattended crawler exposes no console and no control port.
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "LOG_LEVEL": config.crawl.log_level,
        "LOG_ENABLED": config.crawl.log_format == "text",  # JSON lines: pipeline.logs installs the handler
        "ITEM_PIPELINES": {"pipeline.recorder.RunRecorder": 100},
        # A title or date the spider could not find is filled by the generic extractor, counted and logged.
        "SPIDER_MIDDLEWARES": {"pipeline.fallback.FallbackExtractor": 600},
        # Text only, for every source: media is refused first in the chain, before robots.txt or a retry.
        "DOWNLOADER_MIDDLEWARES": {"pipeline.guards.MediaGuard": 10},
        "SGN_RUN_ID": run_id,
        "SGN_DB_PATH": db_path,
        "SGN_BATCH_SIZE": config.crawl.batch_size,
        "SGN_TRAILING_SLASH": source.trailing_slash,
    }
    if replay_address:
        settings.update(
            REPLAY_ADDRESS=replay_address,
            DOWNLOAD_HANDLERS={
                "http": "pipeline.replay.ReplayDownloadHandler",
                "https": "pipeline.replay.ReplayDownloadHandler",
            },
            # The replay server is ours on loopback, not someone else's site: no delay is owed to it.
            DOWNLOAD_DELAY=0,
            AUTOTHROTTLE_ENABLED=False,
        )
    return settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.crawlproc")
    parser.add_argument("--config", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--run-id", type=int, required=True)
    parser.add_argument("--replay-address")
    parser.add_argument("--record-dir", help="save every response here as a recorded site (the record command)")
    parser.add_argument("--record-limit", type=int, help="with --record-dir: stop after this many pages")
    args = parser.parse_args(argv)

    config = load_config(args.config, db_override=args.db)
    source = config.source(args.source)

    from scrapy.crawler import CrawlerProcess

    use_log_format(config.crawl.log_format, config.crawl.log_level)  # JSON lines, if configured
    process = CrawlerProcess(
        with_recording(scrapy_settings(config, source, args.db, args.run_id, args.replay_address),
                       args.record_dir, args.record_limit),
        install_root_handler=True,
    )
    process.crawl(spider_for(source), options=dict(source.options), allowed_domains=list(source.allowed_domains))
    process.start()
    logging.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())

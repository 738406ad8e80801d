"""The run log: the declared interface between a spider, the crawl's middlewares and the item pipeline.

A spider (``spiders._base.SourceSpider.run_log``) and the downloader middlewares write what happened to the
run here: errors, deliberate skips, publications seen unchanged, the door taken, fallback extraction used,
and refusals made on purpose (robots.txt, off-site, media, a ``Retry-After`` too long). The item pipeline
(``pipeline.crawl.store_pipeline``) reads it and takes the unchanged URLs it has not written yet.

Plain data, no Scrapy and no storage: spiders import exactly this module of ``pipeline.crawl``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

RefusalKind = Literal["robots", "offsite", "offsite_redirect", "media", "retry_after_too_long"]


@dataclass(frozen=True)
class Problem:
    """Something the run reports as an error: a failed page, an unreadable answer."""

    url: str
    message: str

    def __str__(self) -> str:
        return f"{self.message}: {self.url}"


@dataclass(frozen=True)
class Skip(Problem):
    """A page that is deliberately not a publication (``message`` says why); with the site's own date
    for it, it is remembered and not fetched again until that date moves."""

    source_date: str | None = None


@dataclass(frozen=True)
class Refusal:
    """A request the crawl refused on purpose (politeness or a guard): counted and logged, not an error."""

    kind: RefusalKind
    url: str
    message: str


@dataclass(frozen=True)
class Fallback:
    """The generic extractor filled fields a spider did not find on a page."""

    url: str
    fields: tuple[str, ...]


@dataclass
class RunLog:
    """What one run of one spider has to tell: appended to during the crawl, read by the item pipeline."""

    door: str = ""
    errors: list[Problem] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    fallbacks: list[Fallback] = field(default_factory=list)
    # article-like links (on the site, under a content section) that match no article pattern: never dropped
    # silently, named here with the page they were found on (link → listing URL)
    unmatched: dict[str, str] = field(default_factory=dict)
    _unchanged: list[str] = field(default_factory=list)

    # -- written during the crawl ---------------------------------------------

    def add_error(self, url: str, message: str) -> Problem:
        problem = Problem(url, message)
        self.errors.append(problem)
        return problem

    def add_skip(self, url: str, reason: str, source_date: str | None = None) -> Skip:
        skip = Skip(url, reason, source_date or None)
        self.skips.append(skip)
        return skip

    def add_unchanged(self, url: str) -> None:
        """A publication seen unchanged without being parsed (a 304, or not newer at the source)."""
        self._unchanged.append(url)

    def use_door(self, door: str) -> bool:
        """Record the way into the site this run takes; True when it changed."""
        changed = door != self.door
        self.door = door
        return changed

    def add_refusal(self, kind: RefusalKind, url: str, message: str) -> Refusal:
        refusal = Refusal(kind, url, message)
        self.refusals.append(refusal)
        return refusal

    def add_fallback(self, url: str, fields: list[str] | tuple[str, ...]) -> None:
        self.fallbacks.append(Fallback(url, tuple(fields)))

    def add_unmatched(self, url: str, found_on: str) -> bool:
        """An article-like link that matches no known pattern; True the first time it is seen."""
        if url in self.unmatched:
            return False
        self.unmatched[url] = found_on
        return True

    # -- read by the item pipeline ---------------------------------------------

    @property
    def unchanged(self) -> list[str]:
        """The URLs seen unchanged and not taken yet (a copy)."""
        return list(self._unchanged)

    def take_unchanged(self) -> list[str]:
        """The URLs seen unchanged since the last call, removed from the log."""
        taken, self._unchanged = self._unchanged, []
        return taken

    def error_messages(self) -> list[str]:
        """The errors as the run's message shows them: ``"<message>: <url>"``."""
        return [str(problem) for problem in self.errors]

    def skip_messages(self) -> list[str]:
        return [str(skip) for skip in self.skips]

    def remembered_skips(self) -> list[Skip]:
        """Skips with the site's own date: not fetched again until that date moves."""
        return [skip for skip in self.skips if skip.source_date]

    def failed_urls(self) -> set[str]:
        return {problem.url for problem in self.errors}


def run_log_of(spider: object) -> RunLog | None:
    """The run log of a source spider; None for a spider without one (a bare Scrapy spider in a test)."""
    log = getattr(spider, "run_log", None)
    return log if isinstance(log, RunLog) else None

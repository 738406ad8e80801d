"""The recorded sites of NSPCC Learning, the IWF and the Children's Commissioner hold the real facts of
../shared/realdata/sites/<source>/ (real visible text of real pages, PROVENANCE.md there): every real page's
URL is served by its fixture, and on that page every title, date line and label the real page shows appears
exactly (spacing and typographic quotes included), in the order the real page shows them.

Bodies and summaries are the fixtures' own words and markup is reconstructed, so they are not compared: the
lines compared are the ones picked out below (titles, date lines, labels, listing headings). A site host
without ``www`` is served under ``www`` (one recorded host per site; the README of each fixture says so).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from lxml import html as lxml_html

from tests.support import FIXTURES, REALDATA

SITES = REALDATA / "sites"
SOURCES = ("nspcc_learning", "iwf", "childrens_commissioner")
HOSTS = {"iwf.org.uk": "www.iwf.org.uk"}

DATE_LINE = re.compile(
    r"^(?:Last updated: .+|Published: .+|\(Published \d{4}\)|\d{1,2} [A-Z][a-z]+ \d{4}(?: [A-Z][a-z]+)?)$")
LABELS = {"Report"}
# Lines of page furniture or body that are not facts to compare (the fixtures' bodies are their own words).
NOT_FACTS = {"Skip to content.", "Skip to content", "Content Types", "Pillars", "Overview", "Introduction",
             "Couldn\u2019t find what you\u2019re looking for?"}


def real_pages(source: str) -> list[tuple[str, list[str]]]:
    pages = []
    for path in sorted((SITES / source).glob("*.txt")):
        lines = path.read_text(encoding="utf-8").splitlines()
        pages.append((lines[0].removeprefix("URL: ").strip(), [line.rstrip() for line in lines[1:]]))
    return pages


def facts(lines: list[str]) -> list[str]:
    """Titles, date lines and labels of one real page, in its order: a date line; a label; the line before a
    date line (a card's or the page's title; the one before that when it is a summary sentence); a line shown
    twice in a row (an IWF card's title); a listing's heading (the first line, when it is one word) and the
    line naming the archive."""
    text = [line for line in lines if line.strip()]
    picked: list[int] = []
    for n, line in enumerate(text):
        if line in NOT_FACTS:
            continue
        if DATE_LINE.match(line) or line in LABELS:
            picked.append(n)
            previous = n - 1
            while previous >= 0 and text[previous] in NOT_FACTS:
                previous -= 1
            if previous > 0 and text[previous].endswith(".") and line not in LABELS:
                previous -= 1  # a summary sentence between the title and the date: ours, not compared
            if previous >= 0 and not DATE_LINE.match(text[previous]) and text[previous] not in LABELS \
                    and not text[previous].endswith("[\u2026]") and line not in LABELS:
                picked.append(previous)
        elif ((n + 1 < len(text) and text[n + 1] == line) or (n == 0 and len(line.split()) == 1)
              or line.startswith("All publications from previous")):
            picked.append(n)
    return [text[n] for n in sorted(set(picked))]


def served(source: str, url: str) -> str | None:
    """The visible text of the page the recorded site serves at ``url`` (None when it serves none)."""
    parts = urlsplit(url)
    url = urlunsplit(parts._replace(netloc=HOSTS.get(parts.netloc, parts.netloc)))
    folder = FIXTURES / source
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    entry = manifest.get(url)
    if not entry or "file" not in entry:
        return None
    return page_text(folder / entry["file"])


def page_text(path: Path) -> str:
    root = lxml_html.fromstring(path.read_bytes())
    for bad in root.xpath("//script|//style|//head"):
        bad.drop_tree()
    for br in root.xpath("//br"):
        br.tail = "\n" + (br.tail or "")
    # newlines (and the indentation after them) separate blocks; spaces within a line are kept as written
    return re.sub(r"[ \t]*\n\s*", "\n", root.text_content())


CASES = [(source, url, lines) for source in SOURCES for url, lines in real_pages(source)]


def test_realdata_is_there():
    """The real texts this check stands on (../shared/realdata/sites, PROVENANCE.md there)."""
    assert {s: len(real_pages(s)) for s in SOURCES} == {"nspcc_learning": 8, "iwf": 6, "childrens_commissioner": 6}


@pytest.mark.parametrize("source, url, lines", CASES, ids=[f"{s}:{urlsplit(u).path}" for s, u, _ in CASES])
def test_every_real_page_is_served_with_its_titles_dates_and_labels_in_order(source, url, lines):
    text = served(source, url)
    assert text is not None, f"{url} is not served by tests/fixtures/{source}"
    position = 0
    for fact in facts(lines):
        found = text.find(fact, position)
        assert found >= 0, (f"{fact!r} not on the page served at {url}"
                            + (" (it is there, but out of the real order)" if fact in text else ""))
        position = found + len(fact)


def test_the_facts_picked_are_the_ones_that_matter():
    """The picking rule, on three real pages: a news page, a listing of cards, the archive listing."""
    pages = {url: lines for source in SOURCES for url, lines in real_pages(source)}
    assert facts(pages["https://www.iwf.org.uk/news-media/news/internet-watch-foundation-at-global-summit"]) == [
        "Internet Watch Foundation at Global Summit", "Published:  Tue 9 Dec 2014"]
    listing = facts(pages["https://www.childrenscommissioner.gov.uk/resource/page/3/?pillar&resource-type=report"
                          "&order"])
    assert listing[:4] == ["Business plan 2023-24", "30 March 2023", "Report", "Family contact in youth custody"]
    assert facts(pages["https://www.childrenscommissioner.gov.uk/resource/archive/page/5"]) == [
        "Archive", "All publications from previous Children's Commissioners can be found in this archive"]
    nspcc = facts(pages["https://learning.nspcc.org.uk/news/2020/october/celebrating-20-years-caspar-safeguarding-"
                        "email-alert"])
    assert nspcc == ["Celebrating 20 years of CASPAR", "Last updated: 05 Oct 2020 Topics: News"]

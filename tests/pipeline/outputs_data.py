"""A small database for the output tests: two sources, one story told by both, every date precision, a
withdrawn item, and hostile text (script tags, &, quotes, a Markdown link, a terminal escape)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pipeline.items.normalise import normalise
from pipeline.items.schema import RawItem
from storage.db import open_db
from storage.publications import store_batch

NOW = datetime(2025, 1, 8, 12, 0, tzinfo=UTC)  # a Wednesday; "7d" reaches back to 1 January, 12:00 UTC
NAMES = {"csprp_govuk": "Child Safeguarding Practice Review Panel", "nspcc_learning": "NSPCC Learning"}

# As a site would show it: entities in the markup become these characters in the database.
HOSTILE_TITLE = "Annual report <script>alert(1)</script> & \"safety\" [click](javascript:alert(1)) *now*"
HOSTILE_TITLE_RAW = ("Annual report &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;safety&quot; "
                     "[click](javascript:alert(1)) *now*")
HOSTILE_SUMMARY = "Findings on neglect & abuse: <img src=x onerror=alert(1)> 'quoted' \"twice\""
HOSTILE_SUMMARY_RAW = ("Findings on neglect &amp; abuse: &lt;img src=x onerror=alert(1)&gt; 'quoted' "
                       "&quot;twice&quot;")

ITEMS = {
    "report": RawItem(
        source="csprp_govuk", natural_key="report",
        url="https://www.gov.uk/government/publications/annual-report-2023-to-2024",
        title=HOSTILE_TITLE_RAW, summary=HOSTILE_SUMMARY_RAW,
        body_text="The panel's annual report on serious child safeguarding incidents and neglect.",
        source_type="corporate_report", published="2024-12-12T09:30:00Z",
        documents=[
            {"title": "Annual report <PDF> & annex", "url": "https://assets.publishing.service.gov.uk/r.pdf",
             "file_type": "pdf", "size": 1782579},
            {"title": "A trap", "url": "javascript:alert(1)"},
        ],
    ),
    "briefing": RawItem(
        source="nspcc_learning", url="https://learning.nspcc.org.uk/research-resources/briefings/annual-report",
        title="CASPAR briefing: Child Safeguarding Practice Review Panel annual report 2023/24",
        summary="NSPCC Learning has published a CASPAR briefing summarising the Panel's annual report.",
        body_text="Briefing text about neglect.", source_type="CASPAR briefing", published="06 January 2025",
    ),
    "review": RawItem(
        source="csprp_govuk", natural_key="review",
        url="https://www.gov.uk/government/publications/i-wanted-them-all-to-notice",
        title="“I wanted them all to notice”", summary="",
        body_text="A national review into child sexual abuse within the family environment. " * 3,
        source_type="independent_report", content_type="review", published="2024-11-26T00:01:00Z",
    ),
    "month": RawItem(
        source="nspcc_learning", url="https://learning.nspcc.org.uk/news/2025/january/podcast",
        title="Podcast: online safety", summary="A podcast on online safety.", source_type="podcast",
        published="2025/january",
    ),
    "year": RawItem(
        source="csprp_govuk", natural_key="year", url="https://www.gov.uk/guidance/practice-guidance",
        title="Practice guidance", summary="Guidance for safeguarding partners.", source_type="guidance",
        published="(Published 2024)",
    ),
    "undated": RawItem(
        source="csprp_govuk", natural_key="undated", url="https://www.gov.uk/news/undated",
        title="Terminal \x1b[31mred\x1b[0m title", summary="No date given.", source_type="news_story",
    ),
    "withdrawn": RawItem(
        source="csprp_govuk", natural_key="withdrawn", url="https://www.gov.uk/news/withdrawn",
        title="Withdrawn notice about neglect", summary="Withdrawn.", source_type="news_story",
        published="2025-01-03", withdrawn="2025-01-04T10:00:00Z",
    ),
    "summer": RawItem(
        source="csprp_govuk", natural_key="summer", url="https://www.gov.uk/government/news/summer",
        title="Published at one minute past midnight, BST", summary="Summer news.",
        source_type="press_release", published="2024-07-01T00:01:00+01:00",
    ),
}


def publications():
    return {key: normalise(item) for key, item in ITEMS.items()}


def build_db(path: Path, clustered: bool = True) -> Path:
    """The database; with ``clustered`` the report and the briefing are one story (cluster 1)."""
    db = open_db(path)
    pubs = publications()
    store_batch(db, pubs.values(), "2025-01-07T06:00:00Z")
    if clustered:
        with db.atomic():
            db.execute("insert into clusters (id, title, first_published_at, size) "
                       "values (1, 'Child safeguarding incidents', '2024-12-12T09:30:00Z', 2)")
            db.execute("update publications set cluster_id = 1 where id in (?, ?)",
                       [pubs["report"].id, pubs["briefing"].id])
    db.close()
    return path

"""Search results for a terminal (numbered, one block each) or as JSON."""

from __future__ import annotations

import json
from typing import Any

from pipeline.outputs.present import clean, date_text

JSON_FIELDS = ("id", "source", "title", "url", "content_type", "published_at", "published_precision",
               "withdrawn_at", "cluster_id", "snippet", "score")


def results_text(rows: list[dict[str, Any]]) -> str:
    """Title, then source · type · date, URL and the snippet (matching terms in **…**). Control
    characters are removed, so a hostile title cannot drive the terminal."""
    blocks = []
    for rank, row in enumerate(rows, start=1):
        meta = [row["source"], row["content_type"], date_text(row["published_at"]),
                "withdrawn" if row["withdrawn_at"] else ""]
        lines = [f"{rank}. {clean(row['title'])}", "   " + " · ".join(clean(m) for m in meta if m),
                 "   " + clean(row["url"])]
        if clean(row["snippet"]):
            lines.append("   " + clean(row["snippet"]))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def results_json(rows: list[dict[str, Any]]) -> str:
    records = [{"rank": rank, **{f: row.get(f) for f in JSON_FIELDS}} for rank, row in enumerate(rows, 1)]
    for record in records:
        record["score"] = round(record["score"], 4) if record["score"] is not None else None
    return json.dumps(records, ensure_ascii=False, indent=2)

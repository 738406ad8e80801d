"""``stats``: publications per month per source or per topic, as a table (months down, sources or topics
across, with totals) and a stacked terminal bar chart drawn with plotext."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pipeline.outputs import BadInput

_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def month_bound(value: str | None, option: str) -> str | None:
    if value is None:
        return None
    if not _MONTH.fullmatch(value.strip()):
        raise BadInput(f"{option}: expected a month as YYYY-MM, e.g. 2024-12 (got {value!r})")
    return value.strip()


def months_between(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` (``YYYY-MM``), so that a month with nothing shows as 0."""
    year, month = int(first[:4]), int(first[5:7])
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def pivot(rows: list[dict[str, Any]], first: str | None = None,
          last: str | None = None) -> tuple[list[str], list[str], dict[tuple[str, str], int]]:
    """(months, keys, counts) from rows of month, key, n: every month from ``first`` (else the first with
    any) to ``last`` (else the last with any); keys by their total, largest first."""
    counts = {(r["month"], r["key"]): int(r["n"]) for r in rows}
    if not counts:
        return [], [], {}
    months = months_between(first or min(m for m, _ in counts), last or max(m for m, _ in counts))
    totals: dict[str, int] = {}
    for (_, key), n in counts.items():
        totals[key] = totals.get(key, 0) + n
    keys = sorted(totals, key=lambda k: (-totals[k], k))
    return months, keys, counts


def table(months: list[str], keys: list[str], counts: dict[tuple[str, str], int], names: Mapping[str, str]) -> str:
    header = ["month", *(names.get(k, k) for k in keys), "total"]
    body = [[m, *(str(counts.get((m, k), 0)) for k in keys), str(sum(counts.get((m, k), 0) for k in keys))]
            for m in months]
    body.append(["total", *(str(sum(counts.get((m, k), 0) for m in months)) for k in keys),
                 str(sum(counts.values()))])
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    line = lambda cells: "  ".join(c.rjust(w) if i else c.ljust(w)  # noqa: E731
                                   for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in body)])


def chart(months: list[str], keys: list[str], counts: dict[tuple[str, str], int], names: Mapping[str, str],
          title: str, width: int, colour: bool = False) -> str:
    """A stacked bar chart of the months, one colour per key (plain text without ``colour``: then each
    key's bars are told apart by the chart's legend order only)."""
    import plotext as plt

    plt.clear_figure()
    plt.stacked_bar(months, [[counts.get((m, k), 0) for m in months] for k in keys],
                    labels=[names.get(k, k) for k in keys])
    plt.title(title)
    plt.plotsize(width, max(15, min(40, 8 + 2 * len(keys))))
    plt.theme("pro" if colour else "clear")
    text = str(plt.build())
    return text if colour else str(plt.uncolorize(text))  # a pipe or a file gets no escape codes


def render_counts(rows: list[dict[str, Any]], kind: str, names: Mapping[str, str], with_chart: bool,
                  width: int, colour: bool = False, first: str | None = None, last: str | None = None) -> str:
    title = f"Publications per month per {kind}" + (" (primary topic)" if kind == "topic" else "")
    months, keys, counts = pivot(rows, first, last)
    if not months:
        return f"{title}: no dated publications"
    parts = [title, "", table(months, keys, counts, names)]
    if with_chart:
        parts += ["", chart(months, keys, counts, names, title, width, colour)]
    return "\n".join(parts) + "\n"

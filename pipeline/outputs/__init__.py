"""Analysts' outputs: search results, exports, the Atom feed and the digest."""

from __future__ import annotations


class BadInput(ValueError):
    """A bad option value (a date, a format, a source); phrased for the user, the CLI exits 2."""

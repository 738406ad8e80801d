"""The only package that speaks SQL: migrations, writes and named queries."""

from storage.db import open_db

__all__ = ["open_db"]

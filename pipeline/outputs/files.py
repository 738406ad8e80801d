"""Where an output goes: stdout, or a file replaced in one step so that a reader (a web server serving
the feed, a spreadsheet) never sees half of it."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, TextIO

from pipeline.outputs import BadInput


@contextlib.contextmanager
def output(path: str | None, stdout: BinaryIO) -> Iterator[TextIO]:
    """A UTF-8 text stream (no newline translation) to ``path``, or to ``stdout`` for None or ``-``."""
    if not path or path == "-":
        wrapper = io.TextIOWrapper(stdout, encoding="utf-8", newline="")
        try:
            yield wrapper
        finally:
            wrapper.flush()
            wrapper.detach()
        return
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with open(fd, "w", encoding="utf-8", newline="") as stream:
            yield stream
        os.chmod(tmp, _mode_for(target))
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _mode_for(target: Path) -> int:
    """The existing file's permissions, or the usual ones for a new file (mkstemp's are owner-only)."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask

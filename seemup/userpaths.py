"""Checks on the user's folders and files, made before the work starts: a folder that cannot take files or an
output that cannot be written is one line now, not an OSError after minutes (used by the CLI and the pipeline)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from seemup.errors import UserError


def check_writable_dir(path: Path, what: str) -> None:
    """Fail now, in one line, when the folder ``path`` cannot hold files (a file in the way, no permission),
    rather than after minutes of work; a folder that does not exist yet must be creatable."""
    _writable(Path(path).expanduser(), f"{what} {path}")


def check_mask_cache(cache_dir: Path | None) -> None:
    """The mask cache (``--cache-dir``, else ``$SEEMUP_CACHE_DIR``, else the default) must take files."""
    from seemup.masks.paths import default_mask_cache_dir

    env = "SEEMUP_CACHE_DIR" if os.environ.get("SEEMUP_CACHE_DIR") else "mask cache"
    check_writable_dir(cache_dir or default_mask_cache_dir(), "--cache-dir" if cache_dir else env)


def check_output_file(path: Path, what: str) -> None:
    """Fail now, in one line, when the file ``path`` could not be written at the end of the run."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise UserError(f"{what} {path} is a folder; give a file name, e.g. {path / 'scores.json'}")
    _writable(path.parent, f"{what} {path}")


def _writable(folder: Path, label: str) -> None:
    existing = folder
    while not existing.exists() and existing != existing.parent:  # made when needed: an ancestor must take it
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"{label}: {existing} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise UserError(f"cannot write in {label}: {existing} ({exc.strerror or exc})") from None

"""The state of every weight set on this machine: missing, present, or hash-verified.

This is what ``seemup weights list`` and ``seemup weights verify`` show; it lives in the library so the
CLI only formats it.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from seemup.errors import UserError

from .hashing import check_file, previously_verified
from .locations import find_file, load_manifest
from .manifest import WeightSet


@dataclass(frozen=True)
class WeightStatus:
    """One weight set: where its file is (if anywhere) and what is known about its hash."""

    entry: WeightSet
    path: Path | None
    where: str | None  # "user", "shipped", "package" or None when missing
    size: int | None  # bytes on disk, else the manifest's size when it records one
    status: str  # "missing", "present", "verified", "verified-prefix", "unhashed" (no hash known) or "mismatch"
    digest: str | None = None

    @property
    def source(self) -> str:
        """Where the file is, or where it would come from."""
        if self.where == "package":
            return f"package {self.entry.package}"
        if self.path is not None:
            return str(self.path)
        if self.entry.urls:
            return "download: " + (urllib.parse.urlparse(self.entry.urls[0]).netloc or self.entry.urls[0])
        return "(not downloadable)"


def _status(entry: WeightSet, verify: bool, progress: Progress | None = None) -> WeightStatus:
    found = find_file(entry)
    if found is None:
        return WeightStatus(entry, None, None, entry.size, "missing")
    size = found.path.stat().st_size
    if not entry.hash_known:
        return WeightStatus(entry, found.path, found.where, size, "unhashed")
    if not verify:
        known = previously_verified(entry, found.path)
        status = ("verified" if entry.hash_is_full else "verified-prefix") if known else "present"
        return WeightStatus(entry, found.path, found.where, size, status)
    on_bytes = None
    if progress is not None:
        task = progress.add_task(escape(entry.name), total=size)

        def on_bytes(n: int) -> None:
            progress.advance(task, n)

    check = check_file(entry, found.path, on_bytes, fresh=True)
    return WeightStatus(entry, found.path, found.where, size, check.status, check.digest)


def list_status(verify: bool = False) -> list[WeightStatus]:
    """Every manifest entry with its status; hashes are only computed when ``verify`` (else remembered ones)."""
    return [_status(entry, verify) for entry in load_manifest()]


def verify_all(names: list[str] | None = None, *, quiet: bool = True) -> list[WeightStatus]:
    """sha256-check the present files of ``names`` (all entries when None); a named set that is missing is an error."""
    manifest = load_manifest()
    entries = [manifest.get(n) for n in names] if names else list(manifest)
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                        TransferSpeedColumn(), TimeRemainingColumn(), console=Console(stderr=True), disable=quiet)
    with progress:
        results = [_status(entry, True, progress) for entry in entries]
    if names:
        missing = [r.entry for r in results if r.status == "missing"]
        if missing:
            e = missing[0]
            hint = f"run `seemup weights download {e.name}`" if e.urls else "see docs/weights.md"
            raise UserError(f"weights {e.name!r} are not installed ({e.file}); {hint}")
    return results

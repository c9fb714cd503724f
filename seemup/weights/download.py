"""Download a weight set: urllib + rich progress bar, temp file, sha256 check, then rename.

Nothing half-written is ever left under the real file name: the bytes go to a hidden ``.part`` file
beside the target and only a file whose hash matches the manifest is renamed into place.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

import seemup
from seemup.errors import UserError

from .hashing import check_file, remember_sha256
from .locations import user_weights_dir
from .manifest import WeightSet

_CHUNK = 1 << 20
DEFAULT_TIMEOUT = 30.0


class _UrlFailed(Exception):
    """One URL did not deliver the right file; the next URL is tried."""


def describe_hash(entry: WeightSet) -> str:
    if not entry.hash_known:
        return "no sha256 is published: it is checked by loading it strictly"
    return f"sha256 {entry.sha256}" if entry.sha256 else f"sha256 starting with {entry.sha256_prefix}"


def manual_hint(entry: WeightSet, target: Path) -> str:
    """The sentence telling a user exactly how to install ``entry`` without seemup's downloader."""
    source = entry.urls[0] if entry.urls else (entry.homepage or entry.reference or "its publisher")
    return (f"to install it by hand, fetch {source} and save it as {target} ({describe_hash(entry)}), "
            f"then run `seemup weights verify {entry.name}`")


def download(entry: WeightSet, dest_dir: str | Path | None = None, *, quiet: bool = False, force: bool = False,
             timeout: float = DEFAULT_TIMEOUT) -> Path:
    """Fetch ``entry`` into ``dest_dir`` (default: the user weights dir) and return the verified file.

    A file already there that matches the manifest is kept (unless ``force``); one that does not match
    is replaced only once a correct copy has been downloaded. Each URL in the manifest is tried in order.
    """
    dest = Path(dest_dir).expanduser() if dest_dir is not None else user_weights_dir()
    target = dest / entry.file
    if target.is_file() and not force and check_file(entry, target).ok:
        return target
    if not entry.urls:
        raise UserError(f"{entry.name} has no download URL; {manual_hint(entry, target)}")
    failures = []
    for url in entry.urls:
        try:
            _fetch(url, target, entry, quiet=quiet, timeout=timeout)
            return target
        except _UrlFailed as exc:
            failures.append(f"{_host(url)}: {exc}")
    raise UserError(f"cannot download {entry.name} ({'; '.join(failures)}); {manual_hint(entry, target)}")


def _host(url: str) -> str:
    parsed = urllib.parse.urlparse(url)
    return parsed.netloc or parsed.scheme + ":"


def _fetch(url: str, target: Path, entry: WeightSet, *, quiet: bool, timeout: float) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": f"seemup/{seemup.__version__}"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - URLs come from the manifest
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _UrlFailed(f"unreachable ({reason})") from exc
    with response:
        content_type = response.headers.get("Content-Type", "") or ""
        if content_type.lower().startswith("text/html"):
            raise _UrlFailed("the server sent a web page instead of the file")
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create {target.parent}: {exc}") from exc
        fd, tmp_name = tempfile.mkstemp(prefix=f".{entry.file}.", suffix=".part", dir=target.parent)
        tmp = Path(tmp_name)
        try:
            digest, written = _stream(response, fd, entry.name, total, quiet)
            if total is not None and written != total:
                raise _UrlFailed(f"transfer cut short ({written} of {total} bytes)")
            if entry.hash_known and not entry.hash_matches(digest):
                raise _UrlFailed(f"wrong file: its sha256 is {digest}, expected {describe_hash(entry)}")
            os.replace(tmp, target)
            remember_sha256(target, digest)
        finally:
            tmp.unlink(missing_ok=True)


def _stream(response, fd: int, label: str, total: int | None, quiet: bool) -> tuple[str, int]:
    digest = hashlib.sha256()
    written = 0
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        TimeRemainingColumn(), console=Console(stderr=True), disable=quiet, transient=False,
    )
    with os.fdopen(fd, "wb") as out, progress:
        task = progress.add_task(escape(label), total=total)
        while True:
            try:
                chunk = response.read(_CHUNK)
            except (OSError, http.client.HTTPException) as exc:  # reset, timeout or short body mid-transfer
                raise _UrlFailed(f"transfer interrupted ({exc})") from exc
            if not chunk:
                break
            out.write(chunk)
            digest.update(chunk)
            written += len(chunk)
            progress.advance(task, len(chunk))
    return digest.hexdigest(), written

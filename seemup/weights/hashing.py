"""sha256 of weight files, checked against the manifest, with a cache of digests already computed.

Hashing a 2.5 GB SAM checkpoint on every run would cost seconds, so a digest is remembered (keyed by
absolute path, size and modification time) in ``.sha256-cache.json`` in the user weights directory;
a file that changes gets hashed again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .locations import user_weights_dir
from .manifest import WeightSet

STAMPS_NAME = ".sha256-cache.json"
ENV_VERIFY = "SEEMUP_WEIGHTS_VERIFY"
_CHUNK = 1 << 20


def verification_enabled() -> bool:
    """False when ``SEEMUP_WEIGHTS_VERIFY=0``: loading then skips hash checks (tests, files you vouch for)."""
    return os.environ.get(ENV_VERIFY, "1").strip().lower() not in ("0", "false", "no", "off")


def sha256_file(path: Path, on_bytes: Callable[[int], None] | None = None) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks (``on_bytes`` gets each chunk's length, for progress)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))
    return digest.hexdigest()


def _stamps_path() -> Path:
    return user_weights_dir() / STAMPS_NAME


def _read_stamps() -> dict[str, dict]:
    path = _stamps_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}  # a damaged cache only costs re-hashing; it is rewritten on the next store
    return data if isinstance(data, dict) else {}


def _key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return str(path.resolve()), st.st_size, st.st_mtime_ns


def cached_sha256(path: Path) -> str | None:
    """The digest remembered for ``path`` if the file is unchanged since it was hashed."""
    key, size, mtime = _key(path)
    stamp = _read_stamps().get(key)
    if isinstance(stamp, dict) and stamp.get("size") == size and stamp.get("mtime_ns") == mtime:
        digest = stamp.get("sha256")
        return digest if isinstance(digest, str) else None
    return None


def remember_sha256(path: Path, digest: str) -> None:
    """Store ``digest`` for ``path`` (atomically; failure to write only costs a later re-hash)."""
    key, size, mtime = _key(path)
    stamps = _read_stamps()
    stamps[key] = {"size": size, "mtime_ns": mtime, "sha256": digest}
    target = _stamps_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".sha256-cache.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(stamps, fh, indent=1, sort_keys=True)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        warnings.warn(f"cannot record the file hash in {target}: {exc}", stacklevel=2)


def file_sha256(path: str | Path, on_bytes: Callable[[int], None] | None = None) -> str:
    """sha256 of ``path``, from the hash cache when the file is unchanged (else computed, then cached)."""
    path = Path(path)
    digest = cached_sha256(path)
    if digest is None:
        digest = sha256_file(path, on_bytes)
        remember_sha256(path, digest)
    return digest


@dataclass(frozen=True)
class HashCheck:
    """Outcome of comparing a file with its manifest entry."""

    status: str  # "verified" (full sha256), "verified-prefix" (only a prefix is known), "mismatch"
    digest: str

    @property
    def ok(self) -> bool:
        return self.status != "mismatch"


def check_file(entry: WeightSet, path: Path, on_bytes: Callable[[int], None] | None = None) -> HashCheck:
    """Hash ``path`` and compare it with ``entry``'s recorded sha256 (or sha256 prefix)."""
    digest = file_sha256(path, on_bytes)
    if not entry.hash_matches(digest):
        return HashCheck("mismatch", digest)
    return HashCheck("verified" if entry.hash_is_full else "verified-prefix", digest)


def previously_verified(entry: WeightSet, path: Path) -> bool:
    """True if ``path`` is unchanged since it was hashed and that hash matched (no hashing done here)."""
    digest = cached_sha256(path)
    return digest is not None and entry.hash_matches(digest)

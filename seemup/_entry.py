"""The `seemup` console script: a Ctrl-C or SIGTERM while Python is still importing the CLI ends with one
line instead of a traceback (or a silent death), before anything was read or written."""

from __future__ import annotations

import os
import signal


def _while_starting(signum: int, _frame: object) -> None:
    os.write(2, b"interrupted while starting: nothing was read or written\n")
    os._exit(128 + signum)


def main() -> None:
    """Import the CLI under the start-up handlers, then hand Ctrl-C and SIGTERM back to it."""
    previous = {s: signal.signal(s, _while_starting) for s in (signal.SIGINT, signal.SIGTERM)}
    from seemup.cli import main as cli_main

    for signum, handler in previous.items():
        signal.signal(signum, handler)
    cli_main()

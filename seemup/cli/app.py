"""The Typer application object shared by the command modules, and checks they share."""

import os
import tempfile
from pathlib import Path

import typer

from seemup.errors import UserError

app = typer.Typer(
    name="seemup",
    help="Video super-resolution x4 with BasicVSR / EDVR and the SEEM semantic prior.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def plain(text: object) -> str:
    """``text`` with rich markup escaped, so a file named ``a[/]b.mp4`` prints as it is instead of crashing."""
    from rich.markup import escape

    return escape(str(text))


def check_writable_dir(path: Path, what: str) -> None:
    """Fail now, in one line, when the folder ``path`` cannot hold files (a file in the way, no permission),
    rather than after minutes of work; a folder that does not exist yet must be creatable."""
    _writable(Path(path).expanduser(), f"{what} {path}")


def check_mask_cache(cache_dir: Path | None) -> None:
    """The mask cache (``--cache-dir``, else ``$SEEMUP_CACHE_DIR``, else the default) must take files."""
    from seemup.masks import default_mask_cache_dir

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
        raise UserError(f"{label}: cannot write in {existing} ({exc.strerror or exc})") from None

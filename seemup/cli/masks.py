"""`seemup masks`."""

from .app import app, not_implemented


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def masks() -> None:
    """(not implemented yet)"""
    not_implemented("masks")

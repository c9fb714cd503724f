"""`seemup weights`."""

from .app import app, not_implemented


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def weights() -> None:
    """(not implemented yet)"""
    not_implemented("weights")

"""`seemup upscale`."""

from .app import app, not_implemented


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def upscale() -> None:
    """(not implemented yet)"""
    not_implemented("upscale")

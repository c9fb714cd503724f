"""`seemup train` and `seemup finetune`."""

from .app import app, not_implemented


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train() -> None:
    """(not implemented yet)"""
    not_implemented("train")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def finetune() -> None:
    """(not implemented yet)"""
    not_implemented("finetune")

"""The Typer application object shared by the command modules, and checks they share."""


import typer

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

"""The one exception type that the CLI turns into a single error line and a non-zero exit."""


class UserError(Exception):
    """Bad input or an impossible request: the message is shown to the user as-is.

    ``exit_code`` follows the shell convention: 2 for usage errors, 1 for everything else.
    """

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class SeemupWarning(UserWarning):
    """Something the user should fix that does not stop the run: the CLI prints it as one ``warning:`` line."""

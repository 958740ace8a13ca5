"""User-facing errors: each message is one sentence that names the fix."""


class IqaError(Exception):
    """An error the user can fix; the CLI prints it without a traceback."""

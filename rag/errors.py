"""User-facing errors: each message is one sentence that names the fix.

Raise the most specific subclass, chained to its cause (`raise ModelUnavailable(...) from e`) so that
`IQA_DEBUG=1` shows the whole chain. The CLI maps each class to its own exit code.
"""


class IqaError(Exception):
    """An error the user can fix; the CLI prints it without a traceback."""
    exit_code = 2


class InputError(IqaError):
    """A question, path, file or flag the user gave is unusable."""
    exit_code = 2


class ConfigError(IqaError):
    """config.toml, an IQA_* variable or a setting holds a bad value."""
    exit_code = 3


class IndexUnavailable(IqaError):
    """No index, a damaged or foreign one, or one built with another embedder."""
    exit_code = 4


class ModelUnavailable(IqaError):
    """A model (answer model, embedder, translator) cannot be found or loaded."""
    exit_code = 5


EXIT_CODES = {cls.__name__: cls.exit_code for cls in (InputError, ConfigError, IndexUnavailable, ModelUnavailable)}

"""The errors the engine raises.

Everything a user can cause (a bad file, an unknown run id, a locked store) is an
``MlloopError`` carrying a one-line message; the CLI prints it and exits with its
``exit_code``. Driver errors (DuckDB, pandas, scikit-learn) are re-raised as ours at the
edge with ``raise ... from e`` so no caller has to know the libraries underneath.
"""

from __future__ import annotations


class MlloopError(Exception):
    """Base class: a problem the user can understand and fix. ``str(e)`` is one line."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class InputError(MlloopError):
    """Bad input from the user: a file, a column, an option value."""

    exit_code = 2


class NotFoundError(InputError):
    """A dataset, run or group that does not exist."""


class StoreError(MlloopError):
    """The store cannot be opened, is locked for too long, or is from a newer version."""

    exit_code = 3


class RunCancelled(MlloopError):
    """A run was stopped by the user (Ctrl-C, or cancel in the app)."""

    exit_code = 130

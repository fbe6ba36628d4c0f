"""mlloop-tui: the terminal front end (CLI and Textual app) over :mod:`core`."""

__version__ = "0.1.0"

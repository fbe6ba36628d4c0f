"""The ``mlloop`` command line: every scriptable action, one module per group of commands.

Each group's module (``GROUPS``) adds its commands to the parser, each with its arguments, its
help and its handler; :mod:`mlloop_tui.cli.output` is the one way any of them prints. Start-up
must stay fast (``mlloop --help`` loads this package and the groups' modules, which import only
the standard library at the top); the engine (DuckDB, pandas, scikit-learn) is imported by the
handler that needs it. Errors the user can fix print one line and exit non-zero (2 for bad
input, or the :class:`~core.errors.MlloopError`'s own code); tracebacks are shown only with
``MLLOOP_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from mlloop_tui.cli.output import out

__all__ = ["GROUPS", "build_parser", "main"]

DEBUG_ENV = "MLLOOP_DEBUG"
HEAR_SIGINT_ENV = "MLLOOP_HEAR_SIGINT"  # set for the app's children: mlloop_tui.runner.CHILD_ENV
# the modules of mlloop_tui.cli that add commands, in the order `mlloop --help` lists them
GROUPS = (
    "datasets",
    "versions",
    "review",
    "runs",
    "models",
    "errors",
    "compare",
    "export",
    "sql",
    "loop",
    "data_checks",
    "app",
)


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 2 like every other bad input, and options are
    never guessed from a prefix (``--model`` must not silently mean ``--models``). Subcommands'
    parsers are made by ``add_subparsers(parser_class=_Parser)``, so the rule holds for every command."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        from core.text import printable

        self.exit(2, printable(f"mlloop: error: {message} (see `{self.prog} --help`)") + "\n")


def build_parser() -> argparse.ArgumentParser:
    from mlloop_tui import __version__

    parser = _Parser(
        prog="mlloop",
        description="A terminal experiment tracker for the everyday machine-learning loop.",
        epilog="With no command, opens the terminal app. Store: --store PATH, else $MLLOOP_STORE, "
        "else ./mlloop.duckdb.",
    )
    parser.add_argument("--version", action="version", version=f"mlloop {__version__}")
    parser.add_argument(
        "--store", metavar="PATH", help="the DuckDB store file (default: $MLLOOP_STORE or ./mlloop.duckdb)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for group in GROUPS:
        importlib.import_module(f"{__name__}.{group}").add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if os.environ.pop(HEAR_SIGINT_ENV, None) == "1":  # started by the app, which cancels with SIGINT
        import signal

        signal.signal(signal.SIGINT, signal.default_int_handler)
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if args.command is None:  # no command: the terminal app
        args = parser.parse_args([*argv, "tui"])
    from core.errors import MlloopError, RunCancelled

    try:
        return args.handler(args)
    except RunCancelled as e:  # the user's choice, not an error: "mlloop: cancelled: finished folds are kept"
        _fail(e, f"mlloop: {e}", e.exit_code)
    except MlloopError as e:
        _fail(e, f"mlloop: error: {e}", e.exit_code)
    except KeyboardInterrupt as e:
        _fail(e, "mlloop: cancelled", 130)
    except BrokenPipeError:  # `mlloop runs | head`
        sys.stderr.close()
        return 0
    except Exception as e:
        from core.stopping import is_interrupt

        if is_interrupt(e):  # Ctrl-C while DuckDB ran a query
            _fail(e, "mlloop: cancelled", 130)
        _fail(
            e,
            f"mlloop: internal error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} "
            f"(set {DEBUG_ENV}=1 for the traceback)",
            1,
        )
    return 0


def _fail(exc: BaseException, line: str, code: int) -> NoReturn:
    if os.environ.get(DEBUG_ENV):
        import traceback

        traceback.print_exception(exc)
    out(line, err=True)
    raise SystemExit(code)

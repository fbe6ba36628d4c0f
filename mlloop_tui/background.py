"""The data-quality checker that runs after an import: ``python -m mlloop_tui.background --store PATH``.

An import (from the CLI, the app, or the demo) starts it and returns at once: the checker is a
process of its own session, at a lower CPU priority (:func:`lower_priority`), so it outlives the
command that started it, never holds a terminal, Ctrl-C in that terminal does not reach it, and
the runs the user started get the cores first. It checks every dataset
without a current check (:func:`core.analysis.trust.check_unchecked`) and exits; the findings and
the warnings they put on scores are cached in the store. SIGTERM or SIGINT cancel it between two
checks' steps (the dataset is checked again by the next checker); :func:`cancel_check` does that
when the user asks for a dataset's findings and computes them in the foreground instead.

``MLLOOP_BACKGROUND_CHECKS=0`` turns the checker off (the warnings then appear once ``mlloop
quality`` has been run on a dataset).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.store import Store

ENV = "MLLOOP_BACKGROUND_CHECKS"
NICENESS = 10


def lower_priority() -> None:
    """Nice this process and, on Linux, its autogroup.

    With autogroup scheduling (Linux's default where it is built in), the CPU is shared between
    sessions first, and a nice value only orders the processes inside one: the checker, a session of
    its own, took an equal share beside a run despite its nice 10 (the demo's first results came
    2.5 s later, all of them 7 s later). Its session is its autogroup, so it may lower that too.
    """
    os.nice(NICENESS)
    try:
        Path("/proc/self/autogroup").write_text(f"{NICENESS}\n")
    except OSError:
        pass  # no autogroups (another system, or a kernel without them): the nice value is what counts


def enabled() -> bool:
    return os.environ.get(ENV, "1").strip() != "0"


def start_checker(store_path: Path) -> subprocess.Popen[bytes] | None:
    """Start a checker on the store, unless checks are turned off; it is never waited for."""
    if not enabled():
        return None
    return subprocess.Popen(
        [sys.executable, "-m", "mlloop_tui.background", "--store", str(store_path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def cancel_check(store: Store, dataset_id: int) -> bool:
    """Stop the checker working on this dataset (on this host); whether one was stopped."""
    from core.store import quality_checks

    state = quality_checks.state(store, dataset_id)
    if state is None or not state.running() or state.host != socket.gethostname() or state.pid is None:
        return False
    try:
        os.kill(state.pid, signal.SIGTERM)
    except OSError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    lower_priority()  # before anything else: the imports below cost CPU too
    from core.analysis.trust import check_unchecked
    from core.errors import MlloopError, RunCancelled
    from core.stopping import StopToken
    from core.store import Store

    parser = argparse.ArgumentParser(prog="python -m mlloop_tui.background", description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    args = parser.parse_args(argv)
    stop = StopToken()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.stop())
    try:
        check_unchecked(Store(Path(args.store)), stop)
    except RunCancelled:
        return 130
    except MlloopError:  # the store went away or is busy: the next checker tries again
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

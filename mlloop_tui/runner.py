"""Runs started from the app execute as ``mlloop run`` child processes.

Fitting never touches the event loop: the child (and its joblib workers) do the work and
commit each fold to the store, and the app sees progress the same way it sees runs from any
other process, by reading the store. Cancelling sends SIGINT, which the CLI turns into a
clean ``cancelled`` status. Children get their own session, so a dropped SSH connection
(SIGHUP to the app's terminal) does not kill a run half-way.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class RunRequest:
    dataset: str
    models: tuple[str, ...]
    folds: int = 5
    repeats: int = 1
    seed: int = 0
    jobs: int = -1

    def argv(self, store: Path) -> list[str]:
        return [
            sys.executable, "-m", "mlloop_tui", "--store", str(store), "run", self.dataset,
            "--models", ",".join(self.models), "--cv", str(self.folds), "--repeats", str(self.repeats),
            "--seed", str(self.seed), "--jobs", str(self.jobs),
        ]


@dataclass
class LaunchedRun:
    request: RunRequest
    process: subprocess.Popen
    stderr: object = field(repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def error_line(self) -> str:
        """The child's last stderr line: its one-line error when it failed."""
        self.stderr.seek(0)
        lines = [ln for ln in self.stderr.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        return lines[-1] if lines else f"exit code {self.process.returncode}"


class RunLauncher:
    """Starts, tracks and cancels the app's run processes."""

    def __init__(self, store_path: Path) -> None:
        self.store_path = store_path
        self.launched: list[LaunchedRun] = []

    def start(self, request: RunRequest) -> LaunchedRun:
        err = tempfile.TemporaryFile()
        proc = subprocess.Popen(
            request.argv(self.store_path), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
            start_new_session=True, env={**os.environ, "MLLOOP_DEBUG": ""},
        )
        run = LaunchedRun(request, proc, err)
        self.launched.append(run)
        return run

    def active(self) -> list[LaunchedRun]:
        return [r for r in self.launched if r.process.poll() is None]

    def reap(self) -> list[LaunchedRun]:
        """Forget the processes that ended; returns them (to report failures)."""
        ended = [r for r in self.launched if r.process.poll() is not None]
        self.launched = [r for r in self.launched if r not in ended]
        return ended

    def cancel(self, pid: int | None = None) -> int:
        """SIGINT the active process with ``pid`` (or all); returns how many were signalled."""
        count = 0
        for run in self.active():
            if pid is None or run.pid == pid:
                try:
                    run.process.send_signal(signal.SIGINT)
                    count += 1
                except ProcessLookupError:
                    pass
        return count

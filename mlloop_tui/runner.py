"""Work started from the app (runs, curves, searches, test evaluations) executes as ``mlloop`` child processes.

Fitting never touches the event loop nor the app's process: the child (and its joblib
workers) do the work and commit each fold or curve point to the store, and the app sees
progress the same way it sees work from any other process, by reading the store. Each kind
of work is a small frozen *request* that knows its command line; the launcher starts,
tracks and cancels them all alike. Cancelling sends SIGINT, which the CLI turns into a clean
``cancelled`` status (finished folds and curve points are kept). Children get their own
session, so a dropped SSH connection (SIGHUP to the app's terminal) does not kill them
half-way.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal


class Request(ABC):
    """Work for a child process: ``command()`` is the ``mlloop`` arguments after ``--store``."""

    what: ClassVar[str] = "run"  # how messages name it ("curve failed")

    @abstractmethod
    def command(self) -> list[str]: ...

    def argv(self, store: Path) -> list[str]:
        return [sys.executable, "-m", "mlloop_tui", "--store", str(store), *self.command()]


@dataclass(frozen=True)
class RunRequest(Request):
    """Cross-validate baselines on a dataset (``mlloop run``)."""

    dataset: str
    models: tuple[str, ...]
    folds: int = 5
    repeats: int = 1
    seed: int = 0
    jobs: int = -1

    def command(self) -> list[str]:
        return ["run", self.dataset, "--models", ",".join(self.models), "--cv", str(self.folds),
                "--repeats", str(self.repeats), "--seed", str(self.seed), "--jobs", str(self.jobs)]


@dataclass(frozen=True)
class CurveRequest(Request):
    """Compute and store a run's learning or validation curve (``mlloop curve``)."""

    what: ClassVar[str] = "curve"
    run_id: int
    kind: Literal["learning", "validation"]
    param: str | None = None  # validation curve: default the model's complexity knob
    jobs: int = -1

    def command(self) -> list[str]:
        argv = ["curve", str(self.run_id), "--jobs", str(self.jobs)]
        if self.kind == "validation":
            argv.append("--validation")
            if self.param:
                argv += ["--param", self.param]
        return argv


@dataclass(frozen=True)
class TuneRequest(Request):
    """A hyper-parameter search from a run (``mlloop tune``); ``grid`` holds ``NAME=v1,v2`` items."""

    what: ClassVar[str] = "search"
    run_id: int
    grid: tuple[str, ...]
    random: int | None = None
    jobs: int = -1

    def command(self) -> list[str]:
        argv = ["tune", str(self.run_id), "--jobs", str(self.jobs)]
        for item in self.grid:
            argv.append(f"--param={item}")  # one token: values may start with '-'
        if self.random is not None:
            argv += ["--random", str(self.random)]
        return argv


@dataclass(frozen=True)
class TestRequest(Request):
    """Evaluate a run once on its dataset's locked test rows (``mlloop test``); the user confirmed in the app."""

    __test__ = False  # not a pytest test class, whatever its name
    what: ClassVar[str] = "test evaluation"
    run_id: int

    def command(self) -> list[str]:
        return ["test", str(self.run_id), "--yes"]


@dataclass
class Launched:
    request: Request
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
    """Starts, tracks and cancels the app's child processes."""

    def __init__(self, store_path: Path) -> None:
        self.store_path = store_path
        self.launched: list[Launched] = []

    def start(self, request: Request) -> Launched:
        err = tempfile.TemporaryFile()
        proc = subprocess.Popen(
            request.argv(self.store_path), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
            start_new_session=True, env={**os.environ, "MLLOOP_DEBUG": ""},
        )
        launched = Launched(request, proc, err)
        self.launched.append(launched)
        return launched

    def active(self) -> list[Launched]:
        return [r for r in self.launched if r.process.poll() is None]

    def reap(self) -> list[Launched]:
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

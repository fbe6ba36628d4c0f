"""Work started from the app executes in child processes, never in the app's.

Fitting never touches the event loop nor the app's process. Each kind of work is a small frozen
*request* that knows its command line, and there are two kinds of child:

- runs, curves, searches and test evaluations are ``mlloop`` commands that commit each fold or
  curve point to the store; the app sees their progress the way it sees work from any other
  process, by reading the store. :class:`RunLauncher` starts, tracks and cancels them alike.
  Cancelling sends SIGINT, which the CLI turns into a clean ``cancelled`` status (finished folds
  and curve points are kept).
- the dataset analyses of the quality and features screens store nothing: their results stream
  back on the child's stdout (:mod:`mlloop_tui.compute`), read by :class:`ComputeChild`. Nobody
  wants a half-finished analysis, so stopping one kills its process group, workers and all.

Children get their own session (and so their own process group), so a dropped SSH connection
(SIGHUP to the app's terminal) does not kill a run half-way, and killing a group reaches the
joblib workers of that child and nothing else.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, ClassVar, Literal

from mlloop_tui.cli import DEBUG_ENV, HEAR_SIGINT_ENV

if TYPE_CHECKING:
    from mlloop_tui.compute import Event

# A child's failure is its one-line message, never a traceback; and it hears SIGINT (the app's cancel)
# even when the app was started with SIGINT ignored (``nohup mlloop &`` from a script), which children inherit.
CHILD_ENV = {DEBUG_ENV: "", HEAR_SIGINT_ENV: "1"}


class Request(ABC):
    """Work for a child process: ``command()`` is the ``mlloop`` arguments after ``--store``."""

    what: ClassVar[str] = "run"  # how messages name it ("curve failed")

    @abstractmethod
    def command(self) -> list[str]: ...

    def argv(self, store: Path) -> list[str]:
        return [sys.executable, "-m", "mlloop_tui", "--store", str(store), *self.command()]


@dataclass(frozen=True)
class RunRequest(Request):
    """Cross-validate baselines and model specs on a dataset (``mlloop run``)."""

    dataset: str
    models: tuple[str, ...]
    folds: int = 5
    repeats: int = 1
    seed: int = 0
    jobs: int = -1
    also: tuple[str, ...] = ()  # more datasets: a group each, every fold in the same pool of workers
    specs: tuple[str, ...] = ()  # ``NAME=SPEC`` texts, one ``--model`` each
    cluster: str | None = None  # a Dask scheduler's address; "" is this machine; None: the child's default
    sample: int | Literal["all"] | None = None  # ``--sample N`` or ``all``; None: the child's default (memory-capped)

    @property
    def names(self) -> tuple[str, ...]:
        """The models' names, as the runs will show them."""
        return (*self.models, *(spec.partition("=")[0] for spec in self.specs))

    def command(self) -> list[str]:
        argv = ["run", self.dataset, *self.also, "--queue"]  # one group at a time: core.store.run_queue
        if self.models or not self.specs:  # without --models, only the specs run
            argv += ["--models", ",".join(self.models)]
        for spec in self.specs:
            argv += ["--model", spec]
        argv += ["--cv", str(self.folds), "--repeats", str(self.repeats), "--seed", str(self.seed)]
        argv += ["--jobs", str(self.jobs)]
        if self.sample is not None:
            argv += ["--sample", str(self.sample)]
        if self.cluster is not None:  # one token: an empty address overrides $MLLOOP_CLUSTER
            argv.append(f"--cluster={self.cluster}")
        return argv


@dataclass(frozen=True)
class CurveRequest(Request):
    """Compute and store a run's learning or validation curve (``mlloop curve``)."""

    what: ClassVar[str] = "curve"
    run_id: int
    kind: Literal["learning", "validation"]
    param: str | None = None  # validation curve: default the model's complexity knob
    jobs: int = -1

    def command(self) -> list[str]:
        argv = ["curve", str(self.run_id), "--queue", "--jobs", str(self.jobs)]  # after the runs before it
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
        argv = ["tune", str(self.run_id), "--queue", "--jobs", str(self.jobs)]  # queued like the app's runs
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
        return ["test", str(self.run_id), "--yes", "--queue"]  # its fit waits for the runs before it


class ComputeRequest(Request):
    """An analysis whose results stream back as JSON lines (``python -m mlloop_tui.compute`` arguments)."""

    def argv(self, store: Path) -> list[str]:
        return [sys.executable, "-m", "mlloop_tui.compute", "--store", str(store), *self.command()]


@dataclass(frozen=True)
class QualityRequest(ComputeRequest):
    """The data-quality findings of a dataset."""

    what: ClassVar[str] = "data-quality check"
    dataset: str
    jobs: int = -1

    def command(self) -> list[str]:
        return ["quality", "--jobs", str(self.jobs), "--", self.dataset]


@dataclass(frozen=True)
class FeaturesRequest(ComputeRequest):
    """The feature-selection curves of one model on a dataset, point by point (no methods: the default ones)."""

    what: ClassVar[str] = "feature curves"
    dataset: str
    model: str = "linear"
    methods: tuple[str, ...] = ()
    jobs: int = -1

    def command(self) -> list[str]:
        argv = ["features", "--model", self.model, "--jobs", str(self.jobs)]
        if self.methods:
            argv += ["--methods", ",".join(self.methods)]
        return [*argv, "--", self.dataset]


@dataclass(frozen=True)
class CurseRequest(ComputeRequest):
    """The curse-of-dimensionality statistics of a dataset."""

    what: ClassVar[str] = "curse statistics"
    dataset: str

    def command(self) -> list[str]:
        return ["curse", "--", self.dataset]


def last_line(stderr: IO[bytes], returncode: int | None) -> str:
    """A child's last stderr line: its one-line error when it failed."""
    stderr.seek(0)
    lines = [ln for ln in stderr.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1] if lines else f"exit code {returncode}"


@dataclass
class Launched:
    request: Request
    process: subprocess.Popen
    stderr: object = field(repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def error_line(self) -> str:
        return last_line(self.stderr, self.process.returncode)


class RunLauncher:
    """Starts, tracks and cancels the app's child processes."""

    def __init__(self, store_path: Path) -> None:
        self.store_path = store_path
        self.launched: list[Launched] = []

    def start(self, request: Request) -> Launched:
        err = tempfile.TemporaryFile()
        proc = subprocess.Popen(
            request.argv(self.store_path),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
            env={**os.environ, **CHILD_ENV},
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


class ComputeChild:
    """A running analysis: its results as they come (:meth:`events`, from a thread) and :meth:`kill`."""

    def __init__(self, request: ComputeRequest, store_path: Path) -> None:
        self.request = request
        self.killed = False
        self._stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            request.argv(store_path),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            start_new_session=True,
            env={**os.environ, **CHILD_ENV},
            text=True,
            encoding="utf-8",
            errors="replace",
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def events(self) -> Iterator[Event]:
        """Each result as its line arrives (this blocks: call it from a thread worker). A child that ends
        in failure without saying why gives its last stderr line as a :class:`~mlloop_tui.compute.Failed`;
        a killed child gives nothing more."""
        from mlloop_tui.compute import Failed, decode

        said_why = False
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if self.killed:
                return
            event = decode(line)
            if event is not None:
                said_why = said_why or isinstance(event, Failed)
                yield event
        if self.process.wait() != 0 and not said_why and not self.killed:
            yield Failed(last_line(self._stderr, self.process.returncode))

    def kill(self) -> None:
        """Kill the child and its workers (its process group), at once: nothing of the result is kept."""
        self.killed = True
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # the group has ended already
        try:
            self.process.wait(timeout=5)  # SIGKILL: milliseconds, unless the kernel holds it in a disk wait
        except subprocess.TimeoutExpired:
            pass

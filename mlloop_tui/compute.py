"""The child process behind the app's dataset analyses: ``python -m mlloop_tui.compute``.

The data-quality and features screens, and a dataset export that needs findings, fit models; they
do it here, in a child process (:class:`~mlloop_tui.runner.ComputeChild`), never in the app's. The
child runs the engine with its worker processes and writes its results on stdout as they come,
one JSON object a line: each finding, each point of the feature curves, the finished curves, the
curse statistics. A failure is one ``error`` line (the engine's one-line message) and exit status 1.
The app reads the lines in a thread worker and turns them back into the engine's records
(:func:`decode`); leaving the screen kills the child's process group, its workers with it.

    python -m mlloop_tui.compute --store PATH quality [--jobs N] DATASET
    python -m mlloop_tui.compute --store PATH features [--model M] [--methods A,B] [--jobs N] DATASET
    python -m mlloop_tui.compute --store PATH curse DATASET

The protocol (what each line holds) is written and read only in this module.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from core.analysis.dimensionality import CurseStats
    from core.analysis.feature_selection import FeatureCurves, FeatureProgress
    from core.analysis.findings import Finding
    from core.store import Store


@dataclass(frozen=True)
class Started:
    """The feature curves have begun: the metric they are scored with."""

    metric: str
    greater_is_better: bool


@dataclass(frozen=True)
class Checked:
    """The data-quality check has ended: every finding has been sent."""


@dataclass(frozen=True)
class Failed:
    """The computation failed; ``message`` is one line for the screen."""

    message: str


if TYPE_CHECKING:
    Event = Finding | Checked | Started | FeatureProgress | FeatureCurves | CurseStats | Failed


# --------------------------------------------------------------------------- the app's side


def decode(line: str) -> Event | None:
    """The event one line of the child's output holds; ``None`` for a line that is not one."""
    from core.analysis.dimensionality import curse_from_dict
    from core.analysis.feature_selection import FeatureProgress, curves_from_dict, point_from_dict
    from core.analysis.findings import finding_from_dict

    try:
        data = json.loads(line)
        kind = data["event"]
    except (ValueError, TypeError, KeyError):
        return None
    if kind == "finding":
        return finding_from_dict(data["finding"])
    if kind == "checked":
        return Checked()
    if kind == "started":
        return Started(data["metric"], data["greater_is_better"])
    if kind == "point":
        method = data["method"]
        return FeatureProgress(method, data["k"], data["done"], data["total"], point_from_dict(method, data["point"]))
    if kind == "curves":
        return curves_from_dict(data["curves"])
    if kind == "curse":
        return curse_from_dict(data["curse"])
    if kind == "error":
        return Failed(data["message"])
    return None


def findings_of(events: Iterable[Event]) -> tuple[Finding, ...]:
    """Every finding of a quality check's events, once it has ended; its failure as an :class:`MlloopError`."""
    from core.analysis.findings import Finding
    from core.errors import MlloopError

    found: list[Finding] = []
    for event in events:
        if isinstance(event, Failed):
            raise MlloopError(event.message)
        if isinstance(event, Checked):
            return tuple(found)
        if isinstance(event, Finding):  # a quality check sends findings, then Checked
            found.append(event)
    raise MlloopError("the data-quality check stopped before its end")


# --------------------------------------------------------------------------- the child's side


def quality(store: Store, args: argparse.Namespace, emit: Callable[..., None]) -> None:
    from core.analysis.findings import finding_to_dict
    from core.analysis.trust import check_and_record
    from core.store.datasets import get_dataset
    from mlloop_tui.background import cancel_check

    dataset = get_dataset(store, args.dataset)
    cancel_check(store, dataset.id)  # checked here and now instead
    for finding in check_and_record(store, dataset, jobs=args.jobs):
        emit("finding", finding=finding_to_dict(finding))
    emit("checked")


def features(store: Store, args: argparse.Namespace, emit: Callable[..., None]) -> None:
    from core.analysis.feature_selection import DEFAULT_METHODS, curves_to_dict, feature_curve, point_to_dict
    from core.modeling.metrics import key_metrics
    from core.store.datasets import get_dataset

    def on_point(progress: FeatureProgress) -> None:
        emit(
            "point",
            method=progress.method,
            k=progress.k,
            done=progress.done,
            total=progress.total,
            point=point_to_dict(progress.point),
        )

    info = get_dataset(store, args.dataset)
    metric = key_metrics(info.task)[0]
    emit("started", metric=metric.name, greater_is_better=metric.greater_is_better)
    methods = args.methods.split(",") if args.methods else DEFAULT_METHODS
    curves = feature_curve(store, info, args.model, methods, jobs=args.jobs, on_point=on_point)
    emit("curves", curves=curves_to_dict(curves))


def curse(store: Store, args: argparse.Namespace, emit: Callable[..., None]) -> None:
    from core.analysis.dimensionality import curse_stats, curse_to_dict

    emit("curse", curse=curse_to_dict(curse_stats(store, args.dataset)))


COMPUTATIONS = {"quality": quality, "features": features, "curse": curse}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m mlloop_tui.compute", description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in COMPUTATIONS:
        command = commands.add_parser(name)
        if name != "curse":
            command.add_argument("--jobs", type=int, default=-1)
        if name == "features":
            command.add_argument("--model", default="linear")
            command.add_argument("--methods", default="")
        command.add_argument("dataset")
    return parser.parse_args(argv)


def protocol_stream() -> IO[str]:
    """Stdout, kept for the protocol alone: anything else written to file descriptor 1 (a library's print,
    a worker process's output) goes to stderr from now on, so it cannot break a line."""
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")  # not inherited: workers never hold the app's pipe open
    os.dup2(2, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    from core.errors import MlloopError
    from core.store import Store

    args = parse_args(argv)
    out = protocol_stream()

    def emit(event: str, **data: object) -> None:
        out.write(json.dumps({"event": event, **data}) + "\n")  # NaN as NaN: read back by json too
        out.flush()

    try:
        COMPUTATIONS[args.command](Store(args.store), args, emit)
    except MlloopError as e:
        emit("error", message=str(e))
        return 1
    except Exception as e:  # one line on the screen, never a traceback in a pipe
        emit("error", message=f"internal error: {type(e).__name__}: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Runs published to an MLflow tracking server or database (``mlloop export RUN... --mlflow URI``).

One MLflow run per mlloop run, in one experiment: its parameters (model, CV, the estimator's
parameters), metrics (per metric: the mean validation score, whose steps are the folds' validation
scores, and the mean train score), tags (dataset and its SHA-256, folds hash, the mlloop run and
version, library versions) and its Markdown and HTML summaries as artifacts. Exporting a run again
updates the MLflow run tagged with its id rather than adding one: metrics are logged with the run's
own times, so an unchanged value is not logged twice.

MLflow is optional (``pip install 'mlloop-tui[mlflow]'``) and slow to import, so it is imported here,
when an export starts. Everything is read from the store before MLflow is contacted, and the store is
never written: a failure leaves mlloop's side as it was, and is one ``InputError`` line.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from core.errors import InputError
from core.report.export import export_runs
from core.report.formatting import mlloop_version
from core.store import Store
from core.store.runs import get_run, parse_run_id
from core.text import first_line, printable
from core.types import RunRecord

DEFAULT_EXPERIMENT = "mlloop"
SUMMARY_FILES = ("mlloop_summary.md", "mlloop_summary.html")  # the artifacts, in the run's artifact root
RUN_ID_TAG, CREATED_TAG = "mlloop.run_id", "mlloop.run_created_at"  # together they find a run exported before
# A tracking server that does not answer fails in seconds, not after MLflow's default 7 retries (unless the
# user set these).
_HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}
_STATUS = {"done": "FINISHED", "failed": "FAILED", "cancelled": "KILLED", "interrupted": "KILLED"}
_BATCH = 1000  # MLflow's most metrics in one log_batch


@dataclass(frozen=True)
class MlflowExport:
    """Where one mlloop run went: its MLflow run id, and whether that run was created or updated."""

    run_id: int
    mlflow_run_id: str
    created: bool


@dataclass(frozen=True)
class _Payload:
    run: RunRecord
    markdown: str
    html: str


def export_to_mlflow(
    store: Store, run_ids: Sequence[int | str], tracking_uri: str, experiment: str | None = None
) -> list[MlflowExport]:
    """Export each run to the experiment ``experiment`` (created if missing) at ``tracking_uri``."""
    ids = list(dict.fromkeys(parse_run_id(r) for r in run_ids))
    if not ids:
        raise InputError("nothing to export: give at least one run id")
    name = DEFAULT_EXPERIMENT if experiment is None else experiment.strip()
    if not name:
        raise InputError("the MLflow experiment name is empty")
    with store.reading():
        payloads = [
            _Payload(get_run(store, i), export_runs(store, [i], "md"), export_runs(store, [i], "html")) for i in ids
        ]
    try:
        from mlflow import MlflowClient
    except ImportError as e:
        raise InputError(
            f"exporting to MLflow needs the mlflow client ({first_line(e)}): pip install 'mlloop-tui[mlflow]'"
        ) from e
    where = printable(tracking_uri)
    with _quiet_mlflow():
        try:
            client = MlflowClient(tracking_uri=tracking_uri)
            experiment_id = _experiment_id(client, name)
            return [_export_one(client, experiment_id, p) for p in payloads]
        except InputError:
            raise
        except Exception as e:  # MLflow raises its own, requests', SQLAlchemy's or OS errors by backend
            raise InputError(f"cannot export to MLflow at {where}: {printable(first_line(e))}") from e


def mlflow_metrics(run: RunRecord) -> list[tuple[str, float, int]]:
    """``(key, value, step)`` of every metric logged for ``run``: per metric ``m``, the folds' validation
    scores as steps 0 ... k-1 of ``m`` and their mean as its last step k (what MLflow shows as the run's
    value), the mean train score ``train_m``, and the standard deviations ``m_std`` and ``train_m_std``."""
    total = run.n_folds_total
    out: list[tuple[str, float, int]] = []
    for metric, summary in run.summaries.items():
        for fold in run.fold_scores:
            out.append((metric, fold.validation.get(metric, math.nan), fold.index))
        out += [
            (metric, summary.val_mean, total),
            (f"{metric}_std", summary.val_std, 0),
            (f"train_{metric}", summary.train_mean, 0),
            (f"train_{metric}_std", summary.train_std, 0),
        ]
    return [(k, float(v), s) for k, v, s in out if v is not None and math.isfinite(v)]


def mlflow_params(run: RunRecord) -> dict[str, str]:
    """The run's spec: model, task and CV settings, and each estimator parameter as ``estimator.NAME``."""
    params = {
        "model": run.model,
        "task": run.task,
        "cv_folds": str(run.folds),
        "cv_repeats": str(run.repeats),
        "cv_seed": str(run.seed),
    }
    for key, value in sorted(run.params.items()):
        params[f"estimator.{key}"] = value if isinstance(value, str) else json.dumps(value)
    return params


def mlflow_tags(run: RunRecord) -> dict[str, str]:
    """What the run was computed from and with; ``mlloop.run_id`` and ``mlloop.run_created_at`` find it again."""
    tags = {
        "mlflow.runName": f"{run.model} on {run.dataset} (mlloop run {run.id})",
        RUN_ID_TAG: str(run.id),
        CREATED_TAG: repr(float(run.created_at)),
        "mlloop.group": str(run.group_id),
        "mlloop.status": run.status,
        "mlloop.dataset": run.dataset,
        "mlloop.dataset_sha256": run.dataset_hash,
        "mlloop.folds_hash": run.folds_hash or "",
        "mlloop.version": mlloop_version(),
    }
    for library, version in sorted(run.versions.items()):
        tags[f"mlloop.versions.{library}"] = str(version)
    return tags


def _experiment_id(client: Any, name: str) -> str:
    found = client.get_experiment_by_name(name)
    if found is None:
        return str(client.create_experiment(name))
    if found.lifecycle_stage != "active":
        raise InputError(f"MLflow experiment {printable(name)!r} is deleted; restore it or give another --experiment")
    return str(found.experiment_id)


def _export_one(client: Any, experiment_id: str, payload: _Payload) -> MlflowExport:
    from mlflow.entities import Metric, Param, RunTag

    run = payload.run
    tags = mlflow_tags(run)
    query = f"tags.`{RUN_ID_TAG}` = '{tags[RUN_ID_TAG]}' and tags.`{CREATED_TAG}` = '{tags[CREATED_TAG]}'"
    found = client.search_runs([experiment_id], filter_string=query, max_results=1)
    created = not found
    if created:
        start = None if run.started_at is None else _ms(run.started_at)
        mlflow_id = client.create_run(experiment_id, start_time=start, tags=tags).info.run_id
    else:
        mlflow_id = found[0].info.run_id
    stamp = _ms(run.finished_at or run.started_at or run.created_at)  # the same on every export of a finished run
    metrics = [Metric(k, v, stamp, s) for k, v, s in mlflow_metrics(run)]
    client.log_batch(
        mlflow_id,
        metrics=metrics[:_BATCH],
        params=[Param(k, v) for k, v in mlflow_params(run).items()],
        tags=[RunTag(k, v) for k, v in tags.items()],
    )
    for start in range(_BATCH, len(metrics), _BATCH):
        client.log_batch(mlflow_id, metrics=metrics[start : start + _BATCH])
    client.log_text(mlflow_id, payload.markdown, SUMMARY_FILES[0])
    client.log_text(mlflow_id, payload.html, SUMMARY_FILES[1])
    status = _STATUS.get(run.status)
    if status is not None:
        client.set_terminated(mlflow_id, status, end_time=None if run.finished_at is None else _ms(run.finished_at))
    return MlflowExport(run.id, mlflow_id, created)


def _ms(epoch_s: float) -> int:
    return int(round(epoch_s * 1000))


@contextmanager
def _quiet_mlflow() -> Iterator[None]:
    """MLflow's and Alembic's INFO lines (a new database's migrations) off the terminal, and a tracking
    server that does not answer a quick failure; both put back as they were afterwards."""
    loggers = [logging.getLogger(n) for n in ("mlflow", "alembic")]
    levels = [lg.level for lg in loggers]
    added = {k: v for k, v in _HTTP_DEFAULTS.items() if k not in os.environ}
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)

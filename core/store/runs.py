"""Run records: create runs, commit each finished fold, finish them, and read them back.

A run stores the pid and host of the process computing it and a heartbeat. Readers derive
the status they show from those, so a run whose process was killed reads ``interrupted``
instead of ``running`` forever, without anyone having to clean up after it.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import duckdb

from core.errors import InputError, NotFoundError
from core.numbers import finite_or_none, none_as_nan
from core.store.connection import Store
from core.store.predictions import FoldPredictions, insert_fold
from core.store.processes import pid_alive
from core.store.quality_checks import warnings_from_json
from core.store.run_json import JsonTexts, sample_from_json, sample_json
from core.store.sql import one_row
from core.types import (
    DatasetInfo,
    DataWarning,
    FoldScore,
    GlmCoefficient,
    GlmSummary,
    MetricSummary,
    ModelSpecInfo,
    RunRecord,
    RunSample,
    RunStatus,
)

STALE_AFTER_S = 60.0
ACTIVE = ("queued", "running")

RUN_COLUMNS = """
    r.id, r.group_id, r.dataset_id, d.name, d.task, r.model, r.params, r.folds, r.repeats, r.seed,
    r.status, r.created_at, r.started_at, r.finished_at, r.duration_s, f.cost, g.wall, r.pid, r.host, r.versions,
    r.dataset_hash, r.folds_hash, r.error, r.warnings, r.heartbeat_at, coalesce(f.n, 0), q.warnings,
    r.spec, r.estimator, r.sample
"""
RUN_FROM = """
    runs r JOIN datasets d ON d.id = r.dataset_id
    LEFT JOIN (SELECT run_id, count(*) AS n, sum(fit_time + score_time) AS cost FROM fold_results GROUP BY run_id) f
        ON f.run_id = r.id
    LEFT JOIN (SELECT group_id, CASE WHEN count(*) FILTER (WHERE status IN ('queued', 'running')) = 0
                   THEN max(finished_at) - min(started_at) END AS wall FROM runs GROUP BY group_id) g
        ON g.group_id = r.group_id
    LEFT JOIN quality_checks q ON q.dataset_id = r.dataset_id AND q.status = 'done'
"""
_NAN = "'NaN'::DOUBLE"
SUMMARY_AGGREGATES = f"""coalesce(avg(train), {_NAN}), coalesce(stddev_samp(train), {_NAN}),
    coalesce(avg(validation), {_NAN}), coalesce(stddev_samp(validation), {_NAN}), count(validation)"""
"""A :class:`MetricSummary`'s fields from ``fold_scores`` grouped by run and metric: NULL aggregates (no
value, or one for a standard deviation) arrive as NaN."""


def create_runs(
    store: Store,
    dataset: DatasetInfo,
    models: Sequence[tuple[str, dict[str, Any]]],
    *,
    folds: int,
    repeats: int,
    seed: int,
    versions: dict[str, str],
    specs: Sequence[ModelSpecInfo | None] = (),
    status: RunStatus = "running",
    sample: RunSample | None = None,
) -> tuple[int, list[int]]:
    """Create one group of runs (status ``running``, owned by this process). ``specs``, parallel to
    ``models``, gives a model spec run its spec (its package's version joins the run's ``versions``);
    ``sample`` is the group's sample of the development rows (None: every row)."""
    now = time.time()
    with store.write() as con:
        group_id: int = one_row(con.execute("SELECT nextval('group_ids')"))[0]
        run_ids: list[int] = []
        for i, (model, params) in enumerate(models):
            spec = specs[i] if i < len(specs) else None
            run_id: int = one_row(con.execute("SELECT nextval('run_ids')"))[0]
            con.execute(
                """INSERT INTO runs (id, group_id, dataset_id, model, params, folds, repeats, seed, status,
                       pid, host, created_at, started_at, heartbeat_at, versions, dataset_hash, spec, estimator, sample)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    run_id,
                    group_id,
                    dataset.id,
                    model,
                    json.dumps(params, sort_keys=True),
                    folds,
                    repeats,
                    seed,
                    status,
                    os.getpid(),
                    socket.gethostname(),
                    now,
                    now,
                    now,
                    json.dumps({**versions, **(spec.versions if spec else {})}),
                    dataset.file_hash,
                    spec.text if spec else None,
                    json.dumps({"class": spec.estimator_class, "params": spec.params}) if spec else None,
                    sample_json(sample),
                ],
            )
            run_ids.append(run_id)
    return group_id, run_ids


def record_fold(store: Store, run_id: int, fold: FoldScore, predictions: FoldPredictions | None = None) -> None:
    """Commit one finished fold: its timings, every metric and its validation rows' predictions, in one
    transaction."""
    metrics = sorted(set(fold.train) | set(fold.validation))
    with store.write() as con:
        if predictions is not None:
            insert_fold(con, run_id, predictions)
        con.execute(
            "INSERT INTO fold_results VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, fold.index, fold.repeat, fold.fold, fold.n_train, fold.n_val, fold.fit_time, fold.score_time],
        )
        if metrics:
            values = ", ".join(["(?, ?, ?, ?, ?)"] * len(metrics))
            args: list[object] = []
            for m in metrics:
                args += [
                    run_id,
                    fold.index,
                    m,
                    finite_or_none(fold.train.get(m)),
                    finite_or_none(fold.validation.get(m)),
                ]
            con.execute(f"INSERT INTO fold_scores VALUES {values}", args)
        con.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ?", [time.time(), run_id])


def record_glm(store: Store, run_id: int, summary: GlmSummary) -> None:
    with store.write() as con:
        con.execute(
            "INSERT INTO glm_summaries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                summary.family,
                summary.link,
                summary.n_obs,
                finite_or_none(summary.df_model),
                finite_or_none(summary.df_resid),
                finite_or_none(summary.deviance),
                finite_or_none(summary.null_deviance),
                finite_or_none(summary.aic),
                finite_or_none(summary.llf),
                summary.converged,
                json.dumps(list(summary.warnings)),
            ],
        )
        if summary.coefficients:
            values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(summary.coefficients))
            args: list[object] = []
            for i, c in enumerate(summary.coefficients):
                args += [
                    run_id,
                    i,
                    c.label,
                    c.term,
                    *(finite_or_none(v) for v in (c.coef, c.std_err, c.z, c.p, c.ci_low, c.ci_high)),
                ]
            con.execute(f"INSERT INTO glm_coefficients VALUES {values}", args)


def finish_run(
    store: Store,
    run_id: int,
    status: RunStatus,
    *,
    error: str | None = None,
    folds_hash: str | None = None,
    warnings: Sequence[str] = (),
) -> None:
    now = time.time()
    with store.write() as con:
        con.execute(
            """UPDATE runs SET status = ?, error = ?, finished_at = ?, duration_s = ? - started_at,
                   heartbeat_at = ?, folds_hash = coalesce(?, folds_hash), warnings = ?
               WHERE id = ?""",
            [status, error, now, now, now, folds_hash, json.dumps(list(warnings)), run_id],
        )


def list_runs(
    store: Store, dataset_id: int | None = None, with_folds: bool = False, limit: int | None = None
) -> list[RunRecord]:
    """All runs (or the newest ``limit``), newest first, with mean ± std per metric; fold scores
    only if asked for."""
    where, args = ("WHERE r.dataset_id = ?", [dataset_id]) if dataset_id is not None else ("", [])
    cut = "" if limit is None else "LIMIT ?"
    with store.read() as con:
        rows = con.execute(
            f"SELECT {RUN_COLUMNS} FROM {RUN_FROM} {where} ORDER BY r.id DESC {cut}",
            args if limit is None else [*args, limit],
        ).fetchall()
        ids = [r[0] for r in rows]
        summaries = _summaries(con, None if dataset_id is None and limit is None else ids)
        folds = _folds(con, ids) if with_folds else {}
    json_text = JsonTexts()
    data_warnings = functools.cache(warnings_from_json)  # a few texts, shared by many runs
    return [run_record(row, summaries.get(row[0], {}), folds.get(row[0], ()), json_text, data_warnings) for row in rows]


def get_run(store: Store, run_id: int | str) -> RunRecord:
    """One run with its folds and GLM summary; ``NotFoundError`` if there is none."""
    rid = parse_run_id(run_id)
    with store.read() as con:
        row = con.execute(f"SELECT {RUN_COLUMNS} FROM {RUN_FROM} WHERE r.id = ?", [rid]).fetchone()
        if row is None:
            raise NotFoundError(f"no run with id {rid}; `mlloop runs` lists them")
        summaries = _summaries(con, [rid])
        folds = _folds(con, [rid]).get(rid, ())
        glm = _glm(con, rid)
    return replace(run_record(row, summaries.get(rid, {})), fold_scores=folds, glm=glm)


def parse_run_id(value: int | str) -> int:
    try:
        rid = int(str(value).strip().lstrip("#"))
    except ValueError:
        raise InputError(f"run id must be a number, got {str(value)!r}") from None
    if rid <= 0:
        raise InputError(f"run id must be positive, got {rid}")
    return rid


def effective_status(
    status: RunStatus,
    pid: int | None,
    host: str | None,
    heartbeat_at: float | None,
    now: float | None = None,
    started_at: float | None = None,
) -> RunStatus:
    """What a stored status means now: an active run whose process is gone is interrupted.

    On the run's own machine the process answers for itself: a run that is stopped (SIGSTOP) or
    too busy to beat its heart is still running while its process lives, and a pid reused by a
    process started after the run is not it. From another machine only the heartbeat tells.
    """
    if status not in ACTIVE:
        return status
    if host == socket.gethostname() and pid is not None:
        return status if pid_alive(pid, started_at) else "interrupted"
    now = time.time() if now is None else now
    if heartbeat_at is None or now - heartbeat_at > STALE_AFTER_S:
        return "interrupted"
    return status


def dead_run_ids(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Active runs, in the ``runs`` table ``con`` sees, whose process is gone (:func:`effective_status`)."""
    rows = con.execute(
        f"SELECT id, status, pid, host, heartbeat_at, started_at FROM runs WHERE status IN {ACTIVE}"
    ).fetchall()
    return [
        rid
        for rid, status, pid, host, beat, started in rows
        if effective_status(status, pid, host, beat, started_at=started) == "interrupted"
    ]


def mark_interrupted(store: Store) -> int:
    """Persist ``interrupted`` for active runs whose process is gone; returns how many."""
    with store.read() as con:
        dead = dead_run_ids(con)
    if dead:
        with store.write() as con:
            con.execute(f"UPDATE runs SET status = 'interrupted' WHERE id IN ({', '.join('?' * len(dead))})", dead)
    return len(dead)


def _summaries(con: duckdb.DuckDBPyConnection, run_ids: list[int] | None) -> dict[int, dict[str, MetricSummary]]:
    where, args = "", []
    if run_ids is not None:
        if not run_ids:
            return {}
        where, args = f"WHERE run_id IN ({', '.join('?' * len(run_ids))})", run_ids
    rows = con.execute(
        f"""SELECT run_id, metric, {SUMMARY_AGGREGATES}
            FROM fold_scores {where} GROUP BY run_id, metric ORDER BY run_id, metric""",
        args,
    ).fetchall()
    out: dict[int, dict[str, MetricSummary]] = {}
    current: int | None = None
    run: dict[str, MetricSummary] = {}
    for run_id, metric, tm, ts, vm, vs, n in rows:  # ordered by run: one dict per run, filled in turn
        if run_id != current:
            current, run = run_id, {}
            out[run_id] = run
        run[metric] = MetricSummary(metric, tm, ts, vm, vs, n)
    return out


def _folds(con: duckdb.DuckDBPyConnection, run_ids: list[int]) -> dict[int, tuple[FoldScore, ...]]:
    if not run_ids:
        return {}
    where = f"run_id IN ({', '.join('?' * len(run_ids))})"
    results = con.execute(
        "SELECT run_id, fold_index, repeat, fold, n_train, n_val, fit_time, score_time FROM fold_results "
        f"WHERE {where} ORDER BY run_id, fold_index",
        run_ids,
    ).fetchall()
    scores: dict[tuple[int, int], tuple[dict[str, float], dict[str, float]]] = {(r[0], r[1]): ({}, {}) for r in results}
    for run_id, idx, metric, train, val in con.execute(
        f"SELECT run_id, fold_index, metric, train, validation FROM fold_scores WHERE {where} ORDER BY metric",
        run_ids,
    ).fetchall():
        if (run_id, idx) in scores:
            scores[run_id, idx][0][metric] = none_as_nan(train)
            scores[run_id, idx][1][metric] = none_as_nan(val)
    out: dict[int, list[FoldScore]] = {}
    for run_id, idx, repeat, fold, n_train, n_val, fit_time, score_time in results:
        train, val = scores[run_id, idx]
        fold_score = FoldScore(idx, repeat, fold, n_train, n_val, fit_time, score_time, train=train, validation=val)
        out.setdefault(run_id, []).append(fold_score)
    return {k: tuple(v) for k, v in out.items()}


def _glm(con: duckdb.DuckDBPyConnection, run_id: int) -> GlmSummary | None:
    row = con.execute(
        "SELECT family, link, n_obs, df_model, df_resid, deviance, null_deviance, aic, llf, converged, warnings "
        "FROM glm_summaries WHERE run_id = ?",
        [run_id],
    ).fetchone()
    if row is None:
        return None
    coefs = con.execute(
        "SELECT term, coef, std_err, z, p, ci_low, ci_high, label FROM glm_coefficients WHERE run_id = ? "
        "ORDER BY position",
        [run_id],
    ).fetchall()
    family, link, n_obs, df_model, df_resid, deviance, null_deviance, aic, llf, converged, warnings = row
    return GlmSummary(
        family,
        link,
        n_obs,
        none_as_nan(df_model),
        none_as_nan(df_resid),
        none_as_nan(deviance),
        none_as_nan(null_deviance),
        none_as_nan(aic),
        none_as_nan(llf),
        bool(converged),
        tuple(json.loads(warnings)),
        tuple(
            GlmCoefficient(
                term,
                none_as_nan(coef),
                none_as_nan(std_err),
                none_as_nan(z),
                none_as_nan(p),
                none_as_nan(ci_low),
                none_as_nan(ci_high),
                label=label,
            )
            for term, coef, std_err, z, p, ci_low, ci_high, label in coefs
        ),
    )


def run_record(
    row: tuple[Any, ...],
    summaries: dict[str, MetricSummary],
    fold_scores: tuple[FoldScore, ...] = (),
    json_text: Callable[[str], Any] = json.loads,
    data_warnings_of: Callable[[str | None], tuple[DataWarning, ...]] = warnings_from_json,
    settled: bool = False,
) -> RunRecord:
    """A run from a row of ``RUN_COLUMNS``; its status as shown now, unless the row's is ``settled``."""
    (
        rid,
        group_id,
        dataset_id,
        dataset,
        task,
        model,
        params,
        folds,
        repeats,
        seed,
        status,
        created_at,
        started_at,
        finished_at,
        duration_s,
        cost_s,
        group_wall_s,
        pid,
        host,
        versions,
        dataset_hash,
        folds_hash,
        error,
        warnings,
        heartbeat_at,
        n_done,
        data_warnings,
        spec,
        estimator,
        sample,
    ) = row
    return RunRecord(
        id=rid,
        group_id=group_id,
        dataset_id=dataset_id,
        dataset=dataset,
        task=task,
        model=model,
        params=json_text(params),
        folds=folds,
        repeats=repeats,
        seed=seed,
        status=status if settled else effective_status(status, pid, host, heartbeat_at, started_at=started_at),
        created_at=created_at,
        started_at=started_at,
        finished_at=finished_at,
        duration_s=duration_s,
        cost_s=cost_s,
        group_wall_s=group_wall_s,
        pid=pid,
        host=host,
        versions=json_text(versions),
        dataset_hash=dataset_hash,
        folds_hash=folds_hash,
        error=error,
        n_folds_done=n_done,
        summaries=summaries,
        warnings=tuple(json_text(warnings)),
        fold_scores=fold_scores,
        data_warnings=data_warnings_of(data_warnings),
        spec=_spec(spec, estimator),
        sample=sample_from_json(sample),
    )


def _spec(text: str | None, estimator: str | None) -> ModelSpecInfo | None:
    if text is None:
        return None
    resolved = json.loads(estimator) if estimator else {}
    return ModelSpecInfo(text, resolved.get("class", ""), resolved.get("params", {}))

"""The stable JSON shape of datasets and runs (``--json`` output and JSON exports).

Keys documented in the README are a public contract: add keys, never rename or drop them.
Non-finite numbers become ``null`` so every output is strict JSON.
"""

from __future__ import annotations

import math
from typing import Any

from core.types import DatasetInfo, FoldScore, GlmSummary, RunRecord


def dataset_to_dict(d: DatasetInfo, columns: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": d.id, "name": d.name, "source": d.source, "format": d.format, "encoding": d.encoding,
        "file_hash": d.file_hash, "rows": d.n_rows, "columns_count": d.n_cols, "target": d.target,
        "task": d.task, "classes": list(d.classes), "test_size": d.test_size, "split_seed": d.split_seed,
        "dev_rows": d.n_dev, "test_rows": d.n_test, "unlabeled_rows": d.n_unlabeled,
        "created_at": d.created_at, "notes": list(d.notes),
    }
    if columns:
        out["columns"] = [
            {"position": c.position, "name": c.name, "sql_type": c.sql_type, "kind": c.kind,
             "missing": c.n_missing, "distinct": c.n_distinct, "min": c.min, "max": c.max,
             "mean": _num(c.mean), "std": _num(c.std), "top_values": [list(t) for t in c.top_values]}
            for c in d.columns
        ]
    return out


def run_to_dict(r: RunRecord) -> dict[str, Any]:
    return {
        "id": r.id, "group": r.group_id, "dataset": r.dataset, "dataset_id": r.dataset_id, "task": r.task,
        "model": r.model, "params": r.params, "status": r.status,
        "cv": {"folds": r.folds, "repeats": r.repeats, "seed": r.seed},
        "folds_done": r.n_folds_done, "folds_total": r.n_folds_total,
        "created_at": r.created_at, "started_at": r.started_at, "finished_at": r.finished_at,
        "duration_s": _num(r.duration_s), "pid": r.pid, "host": r.host,
        "metrics": {
            m: {"train_mean": _num(s.train_mean), "train_std": _num(s.train_std),
                "validation_mean": _num(s.val_mean), "validation_std": _num(s.val_std), "n": s.n}
            for m, s in r.summaries.items()
        },
        "folds": [fold_to_dict(f) for f in r.fold_scores],
        "glm": glm_to_dict(r.glm) if r.glm else None,
        "versions": r.versions, "dataset_hash": r.dataset_hash, "folds_hash": r.folds_hash,
        "error": r.error, "warnings": list(r.warnings),
    }


def fold_to_dict(f: FoldScore) -> dict[str, Any]:
    return {
        "index": f.index, "repeat": f.repeat, "fold": f.fold, "n_train": f.n_train, "n_validation": f.n_val,
        "fit_time": f.fit_time, "score_time": f.score_time,
        "train": {k: _num(v) for k, v in f.train.items()},
        "validation": {k: _num(v) for k, v in f.validation.items()},
    }


def glm_to_dict(g: GlmSummary) -> dict[str, Any]:
    return {
        "family": g.family, "link": g.link, "n_obs": g.n_obs, "df_model": _num(g.df_model),
        "df_resid": _num(g.df_resid), "deviance": _num(g.deviance), "null_deviance": _num(g.null_deviance),
        "aic": _num(g.aic), "llf": _num(g.llf), "converged": g.converged, "warnings": list(g.warnings),
        "coefficients": [
            {"label": c.label, "term": c.term, "coef": _num(c.coef), "std_err": _num(c.std_err),
             "z": _num(c.z), "p": _num(c.p), "ci_low": _num(c.ci_low), "ci_high": _num(c.ci_high)}
            for c in g.coefficients
        ],
    }


def _num(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None

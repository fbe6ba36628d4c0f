"""The stable JSON shape of datasets and runs (``--json`` output and JSON exports).

Keys documented in the README are a public contract: add keys, never rename or drop them.
Non-finite numbers become ``null`` so every output is strict JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.numbers import finite_or_none
from core.types import DatasetInfo, FoldScore, GlmSummary, RunRecord, RunSample


def dataset_to_dict(d: DatasetInfo, columns: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": d.id,
        "name": d.name,
        "source": d.source,
        "format": d.format,
        "encoding": d.encoding,
        "file_hash": d.file_hash,
        "rows": d.n_rows,
        "columns_count": d.n_cols,
        "target": d.target,
        "task": d.task,
        "group": d.group,  # ranking: the column whose rows form one query
        "classes": list(d.classes),
        "test_size": d.test_size,
        "split_seed": d.split_seed,
        "dev_rows": d.n_dev,
        "test_rows": d.n_test,
        "unlabeled_rows": d.n_unlabeled,
        "created_at": d.created_at,
        "notes": list(d.notes),
        "memory_budget": d.memory,  # bytes: the import's --memory, its runs' budget; null: the default
    }
    if columns:
        out["columns"] = [
            {
                "position": c.position,
                "name": c.name,
                "sql_type": c.sql_type,
                "kind": c.kind,
                "role": c.role,
                "missing": c.n_missing,
                "distinct": c.n_distinct,
                "min": c.min,
                "max": c.max,
                "mean": finite_or_none(c.mean),
                "std": finite_or_none(c.std),
                "top_values": [list(t) for t in c.top_values],
            }
            for c in d.columns
        ]
    return out


def run_to_dict(r: RunRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "group": r.group_id,
        "dataset": r.dataset,
        "dataset_id": r.dataset_id,
        "task": r.task,
        "model": r.model,
        "params": r.params,
        "spec": {"text": r.spec.text, "class": r.spec.estimator_class, "params": r.spec.params} if r.spec else None,
        "status": r.status,
        "cv": {"folds": r.folds, "repeats": r.repeats, "seed": r.seed},
        "sample": sample_to_dict(r.sample) if r.sample else None,
        "folds_done": r.n_folds_done,
        "folds_total": r.n_folds_total,
        "created_at": r.created_at,
        "started_at": r.started_at,
        "finished_at": r.finished_at,
        "duration_s": finite_or_none(r.duration_s),
        "cost_s": finite_or_none(r.cost_s),
        "group_wall_s": finite_or_none(r.group_wall_s),
        "pid": r.pid,
        "host": r.host,
        "metrics": {
            m: {
                "train_mean": finite_or_none(s.train_mean),
                "train_std": finite_or_none(s.train_std),
                "validation_mean": finite_or_none(s.val_mean),
                "validation_std": finite_or_none(s.val_std),
                "n": s.n,
            }
            for m, s in r.summaries.items()
        },
        "folds": [fold_to_dict(f) for f in r.fold_scores],
        "glm": glm_to_dict(r.glm) if r.glm else None,
        "versions": r.versions,
        "dataset_hash": r.dataset_hash,
        "folds_hash": r.folds_hash,
        "error": r.error,
        "warnings": [{"kind": "fit", "message": w} for w in r.warnings]
        + [{"kind": w.kind, "message": w.message, "fix": w.fix} for w in r.data_warnings],
    }


def sample_to_dict(s: RunSample) -> dict[str, Any]:
    """A sampled run's rows: ``size`` asked for, ``rows`` drawn ``of`` the development rows, ``strata``
    (rows per class), ``note`` (why, when the memory cap drew it) and ``text``, the line ``show`` prints."""
    return {
        "size": s.size,
        "rows": s.rows,
        "of": s.of,
        "seed": s.seed,
        "how": s.how,
        "strata": dict(s.strata),
        "note": s.note,
        "text": s.describe(),
    }


def fold_to_dict(f: FoldScore) -> dict[str, Any]:
    return {
        "index": f.index,
        "repeat": f.repeat,
        "fold": f.fold,
        "n_train": f.n_train,
        "n_validation": f.n_val,
        "fit_time": f.fit_time,
        "score_time": f.score_time,
        "train": {k: finite_or_none(v) for k, v in f.train.items()},
        "validation": {k: finite_or_none(v) for k, v in f.validation.items()},
    }


def glm_to_dict(g: GlmSummary) -> dict[str, Any]:
    return {
        "family": g.family,
        "link": g.link,
        "n_obs": g.n_obs,
        "df_model": finite_or_none(g.df_model),
        "df_resid": finite_or_none(g.df_resid),
        "deviance": finite_or_none(g.deviance),
        "null_deviance": finite_or_none(g.null_deviance),
        "aic": finite_or_none(g.aic),
        "llf": finite_or_none(g.llf),
        "converged": g.converged,
        "warnings": list(g.warnings),
        "coefficients": [
            {
                "label": c.label,
                "term": c.term,
                "coef": finite_or_none(c.coef),
                "std_err": finite_or_none(c.std_err),
                "z": finite_or_none(c.z),
                "p": finite_or_none(c.p),
                "ci_low": finite_or_none(c.ci_low),
                "ci_high": finite_or_none(c.ci_high),
            }
            for c in g.coefficients
        ],
    }


# --------------------------------------------------------------------------- curves, diagnosis, tuning, test set
# The analysis types are imported only for type checking (annotations are strings here), so serialising
# runs does not load the analysis modules.

if TYPE_CHECKING:
    from core.analysis.advice import Advice
    from core.analysis.compare import Comparison
    from core.analysis.curves import Curve
    from core.analysis.diagnosis import Diagnosis
    from core.analysis.targets import Target
    from core.analysis.tuning import Search
    from core.types import TestEvaluation


def curve_to_dict(c: Curve, points: bool = True) -> dict[str, Any]:
    """A curve: per setting, mean ± std over folds for every metric; the best and current settings."""
    best, current = c.best, c.current
    out: dict[str, Any] = {
        "run": c.run_id,
        "kind": c.kind,
        "param": c.param,
        "task": c.task,
        "metric": c.key_metric,
        "greater_is_better": c.greater_is_better,
        "folds": c.n_folds,
        "log_x": c.log_x,
        "complete": c.complete,
        "points_done": len(c.points),
        "points_total": c.n_expected,
        "computed": c.n_computed,
        "settings": [],
        "best": None
        if best is None
        else {"index": best, "x": c.settings[best].x, "label": c.settings[best].label, "value": c.settings[best].value},
        "current": None
        if current is None
        else {
            "index": current,
            "x": c.settings[current].x,
            "label": c.settings[current].label,
            "value": c.settings[current].value,
        },
        "errors": list(c.errors),
        "notes": list(c.notes),
    }
    by_metric = {m: c.rows(m) for m in c.metrics}
    for i, s in enumerate(c.settings):
        out["settings"].append(
            {
                "x": s.x,
                "label": s.label,
                "value": s.value,
                "metrics": {
                    m: {
                        "train_mean": finite_or_none(rows[i].train_mean),
                        "train_std": finite_or_none(rows[i].train_std),
                        "validation_mean": finite_or_none(rows[i].val_mean),
                        "validation_std": finite_or_none(rows[i].val_std),
                        "n": rows[i].n,
                    }
                    for m, rows in by_metric.items()
                },
            }
        )
    if points:
        out["points"] = [
            {
                "x": p.x,
                "label": p.label,
                "value": p.value,
                "fold": p.fold_index,
                "fit_time": finite_or_none(p.fit_time),
                "train": {k: finite_or_none(v) for k, v in p.train.items()},
                "validation": {k: finite_or_none(v) for k, v in p.validation.items()},
                "error": p.error,
            }
            for p in c.points
        ]
    return out


def advice_to_dict(a: Advice) -> dict[str, Any]:
    return {
        "kind": a.kind,
        "text": a.text,
        "command": a.command,
        "numbers": {k: (finite_or_none(v) if isinstance(v, float) else v) for k, v in a.numbers.items()},
    }


def diagnosis_to_dict(d: Diagnosis) -> dict[str, Any]:
    """The diagnosis: ``bottleneck`` is ``training``, ``validation``, ``test`` or ``none``; errors are in
    ``error_definition`` terms (lower is better)."""
    return {
        "run": d.run_id,
        "dataset": d.dataset,
        "dataset_id": d.dataset_id,
        "model": d.model,
        "task": d.task,
        "bottleneck": d.bottleneck,
        "reason": d.reason,
        "metric": d.metric,
        "error_definition": d.error_definition,
        "train_error": finite_or_none(d.train_error),
        "validation_error": finite_or_none(d.validation_error),
        "validation_error_se": finite_or_none(d.validation_error_se),
        "reference": {
            "error": finite_or_none(d.reference_error),
            "source": d.reference_source,
            "run": d.reference_run_id,
            "runs": d.reference_runs,
        },
        "dummy": {"error": finite_or_none(d.dummy_error), "run": d.dummy_run_id},
        "avoidable_bias": finite_or_none(d.avoidable_bias),
        "variance": finite_or_none(d.variance),
        "threshold": finite_or_none(d.threshold),
        "noise": finite_or_none(d.noise),
        "test": None
        if d.test_error is None
        else {
            "error": finite_or_none(d.test_error),
            "gap": finite_or_none(d.test_gap),
            "threshold": finite_or_none(d.test_threshold),
            "evaluation": d.test_evaluation_id,
        },
        "test_evaluations": d.test_evaluations,
        "learning_curve": None
        if d.curve_size is None
        else {
            "size": finite_or_none(d.curve_size),
            "gap": finite_or_none(d.curve_gap),
            "slope_per_doubling": finite_or_none(d.curve_slope),
        },
        "more_data_helps": d.more_data_helps,
        "advice": [advice_to_dict(a) for a in d.advice],
        "notes": list(d.notes),
    }


def target_to_dict(t: Target) -> dict[str, Any]:
    return {
        "dataset": t.dataset,
        "dataset_id": t.dataset_id,
        "metric": t.metric,
        "score": finite_or_none(t.score),
        "error": finite_or_none(t.error),
        "note": t.note,
        "set_at": t.set_at,
    }


def evaluation_to_dict(e: TestEvaluation) -> dict[str, Any]:
    return {
        "id": e.id,
        "run": e.run_id,
        "dataset": e.dataset,
        "dataset_id": e.dataset_id,
        "model": e.model,
        "created_at": e.created_at,
        "n_train": e.n_train,
        "n_test": e.n_test,
        "fit_time": finite_or_none(e.fit_time),
        "scores": {k: finite_or_none(v) for k, v in e.scores.items()},
        "evaluation_number": e.ordinal,
        "earlier_runs": list(e.earlier_runs),
        "warning": e.warning,
        "fit_warnings": list(e.fit_warnings),
    }


def search_to_dict(s: Search) -> dict[str, Any]:
    best = s.best
    return {
        "group": s.group_id,
        "base_run": s.base_run_id,
        "dataset": s.dataset,
        "model": s.model,
        "grid": s.grid,
        "random": s.random,
        "seed": s.seed,
        "metric": s.metric,
        "greater_is_better": s.greater_is_better,
        "best_run": best.run_id if best else None,
        "candidates": [
            {
                "run": c.run_id,
                "params": c.params,
                "status": c.status,
                "folds_done": c.folds_done,
                "folds_total": c.folds_total,
                "train_mean": finite_or_none(c.train_mean),
                "validation_mean": finite_or_none(c.val_mean),
                "validation_std": finite_or_none(c.val_std),
            }
            for c in s.candidates
        ],
    }


def comparison_to_dict(c: Comparison) -> dict[str, Any]:
    """The JSON shape of a comparison (``compare --json``)."""
    from core.analysis.compare import ALPHA, TEST_NAME, TEST_REFERENCE, param_value
    from core.modeling.metrics import METRICS

    info = METRICS.get(c.metric)
    return {
        "reference": c.reference_id,
        "metric": c.metric,
        "greater_is_better": None if info is None else info.greater_is_better,
        "test": {"name": TEST_NAME, "reference": TEST_REFERENCE, "alpha": ALPHA},
        "differing_params": sorted(c.differing_params),
        "params": {name: {str(r.id): param_value(r, name) for r in c.runs} for name in sorted(c.differing_params)},
        "deltas": {str(run_id): {m: finite_or_none(v) for m, v in d.items()} for run_id, d in c.deltas.items()},
        "pairs": [
            {
                "a": p.a_id,
                "b": p.b_id,
                "metric": p.metric,
                "mean_diff": finite_or_none(p.mean_diff),
                "t": finite_or_none(p.t),
                "p": finite_or_none(p.p),
                "df": p.df if p.pairable else None,
                "n_folds": p.n_folds,
                "n_dropped": p.n_dropped,
                "pairable": p.pairable,
                "reason": p.reason,
                "explanation": p.explanation,
            }
            for p in c.pairs
        ],
        "runs": [run_to_dict(r) for r in c.runs],
        "data_changes": list(c.data_changes),
    }

"""The metrics registry: every fact about a metric, in one place.

A metric's name (stored with each fold score), the scikit-learn scorer that computes it, which
direction is better, its label and short label (a one-metric-wide column), and how a score is
written. Compare, diagnosis, curves, the CLI, the exports and the app's widgets all read them
here, so a metric cannot be named, ordered or rounded two ways.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.errors import InputError
from core.types import Task

SCORE_DIGITS = 4  # decimals of a score in reports and the command line
LARGE_SCORE = 1e4  # from here on a score is written with significant digits, not decimals


@dataclass(frozen=True)
class Metric:
    name: str
    scorer: str  # scikit-learn scorer name
    greater_is_better: bool
    label: str
    short_label: str = ""  # where a column is one metric wide; the label when empty

    @property
    def short(self) -> str:
        return self.short_label or self.label

    @property
    def arrow(self) -> str:
        """``↑`` when higher is better, ``↓`` when lower is."""
        return "↑" if self.greater_is_better else "↓"


CLASSIFICATION_METRICS = (
    Metric("accuracy", "accuracy", True, "accuracy"),
    Metric("balanced_accuracy", "balanced_accuracy", True, "balanced accuracy", "bal. acc."),
    Metric("f1_macro", "f1_macro", True, "macro F1"),
    Metric("roc_auc", "roc_auc", True, "ROC AUC"),
    Metric("log_loss", "neg_log_loss", False, "log loss"),
)
REGRESSION_METRICS = (
    Metric("rmse", "neg_root_mean_squared_error", False, "RMSE"),
    Metric("mae", "neg_mean_absolute_error", False, "MAE"),
    Metric("r2", "r2", True, "R²"),
)
# Per-query means over a run's queries; their "scorer" is computed by core.modeling.ranking, which
# needs each row's query (scikit-learn has no grouped scorer).
RANKING_METRICS = (
    Metric("ndcg_10", "ndcg_10", True, "NDCG@10"),
    Metric("ndcg_5", "ndcg_5", True, "NDCG@5"),
    Metric("ndcg", "ndcg", True, "NDCG"),
    Metric("mrr", "mrr", True, "MRR"),
)
METRICS = {m.name: m for m in CLASSIFICATION_METRICS + REGRESSION_METRICS + RANKING_METRICS}
_KEY_METRICS = {"regression": ("rmse", "r2"), "ranking": ("ndcg_10", "mrr")}


def metrics_for(task: Task) -> tuple[Metric, ...]:
    if task == "ranking":
        return RANKING_METRICS
    return REGRESSION_METRICS if task == "regression" else CLASSIFICATION_METRICS


def key_metrics(task: Task) -> tuple[Metric, Metric]:
    """The two metrics a listing shows; the first is the one lists sort and compare by."""
    names = _KEY_METRICS.get(task, ("accuracy", "roc_auc"))
    return METRICS[names[0]], METRICS[names[1]]


def resolve_metric(name: str | None, task: Task) -> Metric:
    """The metric a user named (``ROC-AUC``, ``rmse``), or the task's key metric for ``None``.

    A metric the task does not have is an ``InputError`` that lists the valid ones.
    """
    if name is None:
        return key_metrics(task)[0]
    key = name.strip().lower().replace("-", "_")
    valid = metrics_for(task)
    found = next((m for m in valid if m.name == key), None)
    if found is None:
        raise InputError(f"unknown metric {name!r} for {task} runs; choose from: {', '.join(m.name for m in valid)}")
    return found


def metric_order(task: Task, names: list[str] | tuple[str, ...]) -> list[str]:
    """The task's metrics in their usual order, then any other stored metric by name."""
    present = list(dict.fromkeys(names))
    known = [m.name for m in metrics_for(task) if m.name in present]
    return known + sorted(n for n in present if n not in known)


def error_of(metric: str, score: float) -> float:
    """A score as an error: ``1 − score`` where higher is better, the loss itself otherwise."""
    info = METRICS.get(metric)
    if info is None:
        raise InputError(f"unknown metric {metric!r}")
    return 1.0 - score if info.greater_is_better else score


def format_score(value: float | None, digits: int = SCORE_DIGITS) -> str:
    """``0.8125``; ``-`` for a missing or non-finite score; significant digits from ``LARGE_SCORE`` on."""
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.{digits}f}" if abs(value) < LARGE_SCORE else f"{value:.{digits}g}"


def format_delta(value: float | None, digits: int = SCORE_DIGITS) -> str:
    """A signed difference of scores: ``+0.0125``, ``-``."""
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:+.{digits}f}" if abs(value) < LARGE_SCORE else f"{value:+.{digits}g}"


def format_mean_std(mean: float, std: float, digits: int = SCORE_DIGITS, compact: bool = False) -> str:
    """``0.8125 ± 0.0100`` (``compact``: ``0.8125±0.0100``, for table cells); the mean alone when the
    spread is unknown (one fold); ``-`` without a mean."""
    if not math.isfinite(mean):
        return "-"
    if not math.isfinite(std):
        return format_score(mean, digits)
    return f"{format_score(mean, digits)}{'±' if compact else ' ± '}{format_score(std, digits)}"


def format_p(p: float | None) -> str:
    """A p-value with three significant digits: ``0.0585``, ``1.29e-05``, ``1``."""
    return "-" if p is None or not math.isfinite(p) else f"{p:.3g}"

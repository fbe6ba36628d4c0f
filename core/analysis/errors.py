"""Error analysis: where a run is wrong, from its stored out-of-fold predictions.

Every development row was predicted once per repeat by the fold that held it out
(:mod:`core.store.predictions`), so the whole development set can be examined without refitting:

- classification: the confusion matrix (counts; :meth:`Classification.normalised` by true class),
  per-class precision, recall, F1 and support, and the most confidently wrong rows (lowest
  probability given to the true class);
- regression: a residual summary (residual = true − predicted), the largest absolute errors, and
  the error by decile of the target;
- both: the weakest slices (:mod:`core.analysis.slices`).

:func:`error_analysis` is the pure computation over arrays; :func:`analyse_run` loads them
(:func:`core.data.frames.load_arrays`: NumPy only, so ``mlloop errors`` never imports pandas). A
run stored before predictions existed raises ``NotFoundError`` saying to re-run it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from core.analysis.slices import CLASSIFICATION_TEST, MIN_SLICE, REGRESSION_TEST, Slice, weakest_slices
from core.data.frames import SplitArrays, load_arrays
from core.errors import InputError
from core.numbers import finite_or_none
from core.store import Store
from core.store.datasets import get_dataset
from core.store.predictions import StoredPredictions, load_predictions
from core.store.runs import get_run
from core.types import DatasetInfo, RunRecord

TOP = 10  # rows and slices listed


@dataclass(frozen=True)
class ClassScores:
    label: str
    precision: float  # NaN when the class is never predicted
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class WrongRow:
    row: int  # the row id: its 0-based place in the file
    true: str
    predicted: str
    p_true: float | None  # the probability given to the true class (None: the model gives none)


@dataclass(frozen=True)
class Classification:
    classes: tuple[str, ...]
    confusion: tuple[tuple[int, ...], ...]  # [true][predicted], in class order
    per_class: tuple[ClassScores, ...]
    wrong: tuple[WrongRow, ...]  # most confidently wrong first
    n_wrong: int

    def normalised(self) -> list[list[float]]:
        """Each true class's row as fractions of its rows (recall on the diagonal); NaN for an empty row."""
        return [[c / sum(row) if sum(row) else float("nan") for c in row] for row in self.confusion]


@dataclass(frozen=True)
class LargeError:
    row: int
    true: float
    predicted: float
    residual: float  # true − predicted


@dataclass(frozen=True)
class Decile:
    low: float
    high: float
    n: int
    mae: float
    bias: float  # mean residual: positive when the model predicts too low


@dataclass(frozen=True)
class Regression:
    mean: float  # mean residual (bias)
    std: float
    mae: float
    rmse: float
    median_abs: float
    quantiles: tuple[tuple[float, float], ...]  # (q, residual quantile) for q in QUANTILES
    largest: tuple[LargeError, ...]
    deciles: tuple[Decile, ...]


QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass(frozen=True)
class ErrorAnalysis:
    run_id: int
    model: str
    dataset: str
    task: str
    repeat: int  # 0-based, as in the fold table
    n_repeats: int
    n_rows: int  # development rows analysed
    n_dev: int
    error_name: str  # "error rate" or "mean absolute error"
    overall_error: float
    classification: Classification | None
    regression: Regression | None
    slices: tuple[Slice, ...]
    slices_tested: int
    slice_test: str
    min_slice: int


def analyse_run(
    store: Store, run_ref: int | str, *, repeat: int = 0, top: int = TOP, min_slice: int = MIN_SLICE
) -> ErrorAnalysis:
    """Load a run's predictions and its dataset's development rows, and analyse them."""
    if top < 1 or min_slice < 1:
        raise InputError(f"--top and --min-slice must be at least 1, got {top} and {min_slice}")
    return error_analysis(*_load(store, run_ref, repeat), top=top, min_slice=min_slice)


def cell_rows(store: Store, run_ref: int | str, true: str, predicted: str, repeat: int = 0) -> list[int]:
    """The row ids of one confusion-matrix cell: true class ``true``, predicted ``predicted``."""
    run, dataset, p, data = _load(store, run_ref, repeat)
    assert p.labels is not None
    position = _positions(data.rows, p.rows)
    return [
        int(r)
        for r, i, q in zip(p.rows, position, p.labels)
        if i >= 0 and data.y[i] == true and dataset.classes[q] == predicted
    ]


def slice_rows(store: Store, run_ref: int | str, feature: str, description: str, repeat: int = 0) -> list[int]:
    """The row ids of one slice (:func:`core.analysis.slices.slice_mask`) among the predicted rows."""
    import numpy as np

    from core.analysis.slices import slice_mask

    run, dataset, p, data = _load(store, run_ref, repeat)
    kept = np.isin(data.rows, p.rows)
    return [int(r) for r in data.rows[kept][slice_mask(data.features[feature][kept], description)]]


def _positions(rows: Any, wanted: Any) -> Any:
    """Where each of ``wanted`` is in ``rows`` (ascending, as loaded), -1 where it is not."""
    import numpy as np

    at = np.searchsorted(rows, wanted)
    found = at < len(rows)
    found[found] = rows[at[found]] == wanted[found]
    return np.where(found, at, -1)


def _load(
    store: Store, run_ref: int | str, repeat: int
) -> tuple[RunRecord, DatasetInfo, StoredPredictions, SplitArrays]:
    with store.reading():
        run = get_run(store, run_ref)
        if not 0 <= repeat < run.repeats:
            raise InputError(f"run {run.id} has repeats 0 to {run.repeats - 1}; got {repeat}")
        dataset = get_dataset(store, run.dataset_id)
        predictions = load_predictions(store, run.id, len(dataset.classes), repeat)
        data = load_arrays(store, dataset, "dev", run.sample)  # the rows the run predicted
    return run, dataset, predictions, data


def error_analysis(
    run: RunRecord,
    dataset: DatasetInfo,
    predictions: StoredPredictions,
    data: SplitArrays,
    *,
    top: int = TOP,
    min_slice: int = MIN_SLICE,
) -> ErrorAnalysis:
    """The analysis of ``predictions`` against the development rows ``data`` (:func:`load_arrays`')."""
    import numpy as np

    position = _positions(data.rows, predictions.rows)
    kept = position >= 0  # rows no longer in the development set (none, unless the data changed) are left out
    position = position[kept]
    rows = predictions.rows[kept]
    X, y = {name: values[position] for name, values in data.features.items()}, data.y[position]
    classification = regression = None
    if dataset.classes:
        assert predictions.labels is not None
        classification, wrong = _classification(dataset.classes, rows, y, predictions, kept, top)
        errors = wrong.astype(np.float64)
        overall = float(errors.mean()) if len(errors) else float("nan")
    else:
        assert predictions.values is not None
        regression, errors = _regression(rows, y.astype(np.float64), predictions.values[kept], top)
        overall = regression.mae
    slices, tested = weakest_slices(X, errors, classification is not None, min_slice, top)
    return ErrorAnalysis(
        run_id=run.id,
        model=run.model,
        dataset=run.dataset,
        task=run.task,
        repeat=predictions.repeat,
        n_repeats=predictions.n_repeats,
        n_rows=len(rows),
        n_dev=dataset.n_dev,
        error_name="error rate" if classification else "mean absolute error",
        overall_error=overall,
        classification=classification,
        regression=regression,
        slices=tuple(slices),
        slices_tested=tested,
        slice_test=CLASSIFICATION_TEST if classification else REGRESSION_TEST,
        min_slice=min_slice,
    )


def _classification(
    classes: tuple[str, ...], rows: Any, y: Any, p: StoredPredictions, kept: Any, top: int
) -> tuple[Classification, Any]:
    import numpy as np

    k = len(classes)
    code = {c: i for i, c in enumerate(classes)}
    true = np.fromiter((code.get(v, -1) for v in y), np.int64, len(y))
    assert p.labels is not None
    predicted = p.labels[kept]
    confusion = np.bincount(true * k + predicted, minlength=k * k).reshape(k, k)
    diag = np.diag(confusion).astype(np.float64)
    support, called = confusion.sum(axis=1), confusion.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = diag / called
        recall = diag / support
        f1 = 2 * precision * recall / (precision + recall)
    f1 = np.where((precision == 0) & (recall == 0), 0.0, f1)
    wrong = true != predicted
    order = np.flatnonzero(wrong)
    p_true = None
    if p.proba is not None:
        p_true = p.proba[kept][np.arange(len(true)), true]
        order = order[np.argsort(p_true[order], kind="stable")]
    listed = tuple(
        WrongRow(int(rows[i]), classes[true[i]], classes[predicted[i]], None if p_true is None else float(p_true[i]))
        for i in order[:top]
    )
    per_class = tuple(
        ClassScores(c, float(precision[i]), float(recall[i]), float(f1[i]), int(support[i]))
        for i, c in enumerate(classes)
    )
    confusion_rows = tuple(tuple(int(v) for v in row) for row in confusion)
    return Classification(classes, confusion_rows, per_class, listed, int(wrong.sum())), wrong


def _regression(rows: Any, y: Any, predicted: Any, top: int) -> tuple[Regression, Any]:
    import numpy as np

    residual = y - predicted
    abs_err = np.abs(residual)
    largest = np.argsort(-abs_err, kind="stable")[:top]
    edges = np.quantile(y, np.linspace(0, 1, 11))
    bins = np.clip(np.searchsorted(edges[1:-1], y, side="right"), 0, 9)
    deciles = []
    for b in range(10):
        mask = bins == b
        if mask.any():
            deciles.append(
                Decile(
                    float(edges[b]),
                    float(edges[b + 1]),
                    int(mask.sum()),
                    float(abs_err[mask].mean()),
                    float(residual[mask].mean()),
                )
            )
    summary = Regression(
        mean=float(residual.mean()),
        std=float(residual.std(ddof=1)) if len(residual) > 1 else float("nan"),
        mae=float(abs_err.mean()),
        rmse=float(np.sqrt(np.mean(residual * residual))),
        median_abs=float(np.median(abs_err)),
        quantiles=tuple((q, float(v)) for q, v in zip(QUANTILES, np.quantile(residual, QUANTILES))),
        largest=tuple(LargeError(int(rows[i]), float(y[i]), float(predicted[i]), float(residual[i])) for i in largest),
        deciles=tuple(deciles),
    )
    return summary, abs_err


def errors_to_dict(a: ErrorAnalysis) -> dict[str, Any]:
    """The JSON shape of ``mlloop errors --json`` and of a run export's ``errors``: NaN as null."""
    out: dict[str, Any] = {
        "run_id": a.run_id,
        "model": a.model,
        "dataset": a.dataset,
        "task": a.task,
        "repeat": a.repeat,
        "n_repeats": a.n_repeats,
        "n_rows": a.n_rows,
        "n_dev": a.n_dev,
        "error": a.error_name,
        "overall_error": finite_or_none(a.overall_error),
        "classification": None,
        "regression": None,
        "slices": {
            "test": a.slice_test,
            "min_size": a.min_slice,
            "tested": a.slices_tested,
            "top": [_finite(asdict(s)) for s in a.slices],
        },
    }
    c = a.classification
    if c is not None:
        out["classification"] = {
            "classes": list(c.classes),
            "confusion": [list(row) for row in c.confusion],
            "confusion_normalised": [[finite_or_none(v) for v in row] for row in c.normalised()],
            "per_class": [_finite(asdict(s)) for s in c.per_class],
            "n_wrong": c.n_wrong,
            "most_confidently_wrong": [_finite(asdict(w)) for w in c.wrong],
        }
    r = a.regression
    if r is not None:
        out["regression"] = {
            "residuals": _finite({k: getattr(r, k) for k in ("mean", "std", "mae", "rmse", "median_abs")})
            | {"quantiles": {str(q): finite_or_none(v) for q, v in r.quantiles}},
            "largest_errors": [_finite(asdict(e)) for e in r.largest],
            "by_target_decile": [_finite(asdict(d)) for d in r.deciles],
        }
    return out


def _finite(d: dict[str, Any]) -> dict[str, Any]:
    return {k: finite_or_none(v) if isinstance(v, float) else v for k, v in d.items()}

"""Possibly mislabeled rows, found by confident learning on out-of-fold probabilities.

Confident learning (Northcutt, Jiang & Chuang 2021, "Confident Learning: Estimating Uncertainty
in Dataset Labels", Journal of Artificial Intelligence Research 70, 1373-1411):

1. every development row gets out-of-fold predicted probabilities ``P`` (the linear baseline,
   five stratified folds, so no row is scored by a model that saw its label);
2. the threshold of class j, ``t_j``, is the mean of ``P[:, j]`` over the rows labeled j (the
   class's average self-confidence);
3. the confident joint ``C[i][j]`` counts the rows labeled i whose probability of j is at least
   ``t_j`` (when several classes pass their thresholds, the most probable of them; a row that
   passes none is not counted);
4. ``C`` is calibrated so that row i sums to the number of rows labeled i; its off-diagonal sum
   is the estimated number of label errors.

Which rows are flagged: the rows in the off-diagonal of the (uncalibrated) confident joint, the
paper's confident-joint rule (cleanlab's ``filter_by="confident_learning"``), not its
prune-by-noise-rate variant; a row whose most probable class is still its own label is not
flagged (the model does not prefer another class). They are ranked by self-confidence, the
out-of-fold probability of the row's own label, lowest (most suspicious) first. So every flagged
row is one the model gets wrong out of fold: classes that overlap look like label noise to the
method, but on clean data it flags at most the model's own errors, and none where the model
separates the classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.analysis.findings import MAX_ROWS, Finding, listed_rows, percent
from core.data.messages import shorten
from core.types import DatasetInfo

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MIN_ROWS, MIN_PER_CLASS = 30, 5  # below these the folds are too small for a probability worth judging
OOF_FOLDS = 5  # the stratified folds that give every row its out-of-fold probabilities


@dataclass(frozen=True)
class LabelIssues:
    """Confident learning's result on ``n`` rows and ``K`` classes (positions, not file rows)."""

    thresholds: np.ndarray  # (K,) t_j: the mean probability of class j over the rows labeled j
    confident_joint: np.ndarray  # (K, K) C[i][j]: rows labeled i confidently in class j
    calibrated_joint: np.ndarray  # (K, K) C calibrated: row i sums to the number of rows labeled i
    preferred: np.ndarray  # (n,) the class a row is confidently in, -1 when none passes its threshold
    self_confidence: np.ndarray  # (n,) the probability of the row's own label
    issues: np.ndarray  # positions of the flagged rows, lowest self-confidence first

    @property
    def estimated_errors(self) -> float:
        """The calibrated joint's off-diagonal sum: how many labels are estimated to be wrong."""
        return float(self.calibrated_joint.sum() - self.calibrated_joint.trace())


def confident_learning(labels: np.ndarray, proba: np.ndarray) -> LabelIssues:
    """Confident learning on ``labels`` (class positions 0..K-1) and their out-of-fold ``proba`` (n, K)."""
    import numpy as np

    n, k = proba.shape
    rows = np.arange(n)
    counts = np.bincount(labels, minlength=k)
    own = proba[rows, labels]
    sums = np.bincount(labels, weights=own, minlength=k)
    # A class without rows can confidently hold none.
    thresholds = np.divide(sums, counts, out=np.full(k, np.inf), where=counts > 0)
    above = proba >= thresholds
    preferred = np.where(above.any(axis=1), np.where(above, proba, -np.inf).argmax(axis=1), -1)
    counted = preferred >= 0
    joint = np.zeros((k, k), dtype=np.int64)
    np.add.at(joint, (labels[counted], preferred[counted]), 1)
    totals = joint.sum(axis=1, keepdims=True)
    calibrated = np.divide(joint * counts[:, None], totals, out=np.zeros((k, k)), where=totals > 0)
    flagged = counted & (preferred != labels) & (proba.argmax(axis=1) != labels)
    candidates = np.flatnonzero(flagged)
    issues = candidates[np.argsort(own[candidates], kind="stable")]
    return LabelIssues(thresholds, joint, calibrated, preferred, own, issues)


def out_of_fold_proba(
    X: pd.DataFrame, y: pd.Series, dataset: DatasetInfo, jobs: int
) -> tuple[np.ndarray, np.ndarray, list[Any]] | None:
    """The linear baseline's out-of-fold probabilities ``(n, K)``, each row's label as a class
    position, and the classes in column order; ``None`` when the data is too small to judge."""
    from sklearn.model_selection import cross_val_predict

    from core.modeling.evaluation import build_pipeline, make_splitter
    from core.modeling.models import BASELINES

    counts = y.value_counts()
    if len(counts) < 2 or counts.min() < MIN_PER_CLASS or len(X) < MIN_ROWS:
        return None
    pipe = build_pipeline(BASELINES["linear"], dataset, X, {}, 0)
    try:  # only a class too small to fold means "no answer"; a failing fit is an error
        splits = list(make_splitter(dataset.task, OOF_FOLDS, 1, 0).split(X, y))
    except ValueError:
        return None
    proba = cross_val_predict(pipe, X, y, cv=splits, method="predict_proba", n_jobs=jobs)
    classes = sorted(y.unique())  # predict_proba columns follow the sorted labels
    labels = y.map({c: i for i, c in enumerate(classes)}).to_numpy().astype(int)
    return proba, labels, classes


def mislabeled_findings(X: pd.DataFrame, y: pd.Series, dataset: DatasetInfo, jobs: int) -> list[Finding]:
    """The development rows confident learning flags, most suspicious first; none when it flags none."""
    oof = out_of_fold_proba(X, y, dataset, jobs)
    if oof is None:
        return []
    proba, labels, classes = oof
    found = confident_learning(labels, proba)
    if not len(found.issues):
        return []
    n = len(y)
    model_errors = int((proba.argmax(axis=1) != labels).sum())
    estimate = found.estimated_errors
    listed = found.issues[:MAX_ROWS]
    return [
        Finding(
            "mislabeled",
            "low",  # candidates, whatever their number: overlapping classes look the same as wrong labels
            (dataset.target,),
            listed_rows(X.index[listed]),
            f"{len(found.issues)} development rows the model confidently puts in another class, out of fold "
            f"(confident learning): about {estimate:.0f} label errors estimated in {n} rows "
            f"({percent(estimate / n)}); the model's own out-of-fold errors: {model_errors} "
            f"({percent(model_errors / n)})",
            "inspect these rows, lowest probability of their label first: fix wrong labels; keep the ones that "
            "are right but hard (classes that overlap look like label noise)",
            estimate,
            len(found.issues),
            tuple(float(found.self_confidence[i]) for i in listed),
            tuple(row_reason(found, proba, int(i), int(labels[i]), classes) for i in listed),
        )
    ]


def row_reason(found: LabelIssues, proba: np.ndarray, position: int, label: int, classes: list[Any]) -> str:
    """Why a flagged row is suspicious, e.g. ``label no: p 0.062 < threshold 0.871; confidently yes:
    p 0.938 >= threshold 0.902``: its label's probability against that class's threshold, then the
    class the model confidently prefers, with its probability against that class's threshold."""
    other = int(found.preferred[position])
    p_own, p_other = proba[position, label], proba[position, other]
    t_own, t_other = found.thresholds[label], found.thresholds[other]
    return (
        f"label {shorten(str(classes[label]), 24)}: p {p_own:.3f} {'<' if p_own < t_own else '>='} threshold "
        f"{t_own:.3f}; confidently {shorten(str(classes[other]), 24)}: p {p_other:.3f} >= threshold {t_other:.3f}"
    )

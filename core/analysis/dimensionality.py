"""The curse of dimensionality, made visible on a dataset's development rows: samples per feature,
the PCA components needed for 90/95/99% of the variance, and distance concentration (the relative
contrast of pairwise distances shrinking as features are added).

Features are the preprocessed ones the models see (imputed, standardised, categories one-hot);
this describes the data, it is not a model evaluation.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

from core.data.frames import load_split
from core.data.sampling import plan_sample
from core.numbers import finite_or_none, none_as_nan
from core.store import Store
from core.store.datasets import get_dataset
from core.types import DatasetInfo

__all__ = ["CurseStats", "curse_from_dict", "curse_stats", "curse_to_dict", "k_grid"]

GRID_POINTS = 12  # points of the default log-spaced k grid
LOW_SAMPLES_PER_FEATURE = 10  # below this, the classic rule of thumb says models overfit easily
VARIANCE_LEVELS = (0.9, 0.95, 0.99)
CONTRAST_POINTS = 200  # rows used for distance concentration
CONTRAST_SUBSETS = 5  # random feature subsets averaged per dimension
PCA_MAX_ROWS = 5000
SAMPLE_FOLDS = 2  # a sample keeps at least this many rows of each class (no folds here; PCA needs two rows)


def k_grid(n_features: int, points: int = GRID_POINTS) -> tuple[int, ...]:
    """1 .. n_features, log-spaced, integers, both ends included."""
    import numpy as np

    if n_features < 1:
        return ()
    return tuple(int(k) for k in np.unique(np.round(np.geomspace(1, n_features, min(points, n_features)))))


@dataclass(frozen=True)
class CurseStats:
    dataset: str
    n_samples: int
    n_raw_features: int
    n_features: int
    samples_per_feature: float
    warning: str | None
    explained_variance: tuple[float, ...]  # cumulative, per component
    components_for: dict[float, int]  # 0.9 -> components needed for 90% of the variance
    contrast_dims: tuple[int, ...]
    relative_contrast: tuple[float, ...]  # mean over points of (max - min) / min distance to the others
    notes: tuple[str, ...] = field(default_factory=tuple)


def curse_stats(
    store: Store,
    dataset_ref: str | int | DatasetInfo,
    seed: int = 0,
    sample: int | str | None = None,
    memory: int | None = None,
) -> CurseStats:
    """Samples per feature, PCA explained variance and distance concentration on the dev rows.

    Features are the preprocessed ones (median-imputed, standardised, categories one-hot),
    fitted on the development rows: this describes the data, it is not a model evaluation.
    ``sample``, ``memory``: as a run's (:func:`core.data.sampling.plan_sample`): the rows of a dataset
    larger than the memory budget are a sample, said in a note; samples per feature count every row.
    """
    import numpy as np
    from scipy.spatial.distance import cdist
    from sklearn.decomposition import PCA

    from core.modeling.evaluation import build_pipeline
    from core.modeling.models import BASELINES

    dataset = dataset_ref if isinstance(dataset_ref, DatasetInfo) else get_dataset(store, dataset_ref)
    drawn = plan_sample(store, dataset, sample, SAMPLE_FOLDS, seed, memory=memory)
    X, y = load_split(store, dataset, "dev", drawn)
    notes = [] if drawn is None else [drawn.note or drawn.describe()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pre = build_pipeline(BASELINES["linear"], dataset, X, {}, seed).named_steps["preprocess"]
        Z = np.asarray(pre.fit_transform(X, y), dtype=float)
    n, p = Z.shape
    rows_in_data = n if drawn is None else drawn.of
    ratio = rows_in_data / p if p else float("inf")
    warning = None
    if ratio < 1:
        warning = (
            f"more features ({p}) than rows ({rows_in_data}): many models can fit noise perfectly; "
            "regularise or select features inside the folds"
        )
    elif ratio < LOW_SAMPLES_PER_FEATURE:
        warning = f"fewer than {LOW_SAMPLES_PER_FEATURE} rows per feature: overfitting is easy; regularise"
    rng = np.random.default_rng(seed)
    # Standardise every column (one-hot ones too) so no unit dominates the variance or distances.
    Zs = Z - Z.mean(axis=0)
    sd = Zs.std(axis=0)
    keep = sd > 0
    if not keep.all():
        notes.append(f"{int((~keep).sum())} constant columns left out")
    Zs = Zs[:, keep] / sd[keep]
    rows = rng.choice(n, PCA_MAX_ROWS, replace=False) if n > PCA_MAX_ROWS else np.arange(n)
    if n > PCA_MAX_ROWS:
        notes.append(f"PCA on {PCA_MAX_ROWS} random rows of {n}")
    explained: tuple[float, ...] = ()
    components_for: dict[float, int] = {}
    if Zs.shape[1] and len(rows) > 1:
        pca = PCA(svd_solver="full").fit(Zs[rows])
        cum = np.minimum(np.cumsum(pca.explained_variance_ratio_), 1.0)
        explained = tuple(float(v) for v in cum)
        components_for = {t: int(np.searchsorted(cum, t - 1e-12) + 1) for t in VARIANCE_LEVELS}
    dims, contrast = _concentration(Zs, rng, cdist)
    return CurseStats(
        dataset=dataset.name,
        n_samples=rows_in_data,
        n_raw_features=X.shape[1],
        n_features=p,
        samples_per_feature=float(ratio),
        warning=warning,
        explained_variance=explained,
        components_for=components_for,
        contrast_dims=dims,
        relative_contrast=contrast,
        notes=tuple(notes),
    )


def curse_to_dict(s: CurseStats) -> dict[str, Any]:
    d = asdict(s)
    d["components_for"] = {str(k): v for k, v in s.components_for.items()}
    for key in ("explained_variance", "contrast_dims", "relative_contrast", "notes"):
        d[key] = list(d[key])
    d["relative_contrast"] = [finite_or_none(v) for v in s.relative_contrast]
    d["samples_per_feature"] = finite_or_none(s.samples_per_feature)
    return d


def curse_from_dict(d: dict[str, Any]) -> CurseStats:
    """The statistics :func:`curse_to_dict` wrote (no features at all: infinitely many samples per feature)."""
    return CurseStats(
        dataset=d["dataset"],
        n_samples=d["n_samples"],
        n_raw_features=d["n_raw_features"],
        n_features=d["n_features"],
        samples_per_feature=none_as_nan(d["samples_per_feature"], math.inf),
        warning=d["warning"],
        explained_variance=tuple(d["explained_variance"]),
        components_for={float(k): v for k, v in d["components_for"].items()},
        contrast_dims=tuple(d["contrast_dims"]),
        relative_contrast=tuple(none_as_nan(v) for v in d["relative_contrast"]),
        notes=tuple(d["notes"]),
    )


def _concentration(Z: Any, rng: Any, cdist: Any) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Relative contrast (max - min) / min of the distances from each sampled point to the others,
    averaged over points and over random feature subsets, for subset sizes on a log grid."""
    import numpy as np

    n, p = Z.shape
    if n < 3 or p < 1:
        return (), ()
    rows = rng.choice(n, min(n, CONTRAST_POINTS), replace=False)
    sample = Z[rows]
    dims = k_grid(p, 10)
    out = []
    for d in dims:
        values = []
        for _ in range(CONTRAST_SUBSETS if d < p else 1):
            cols = rng.choice(p, d, replace=False)
            D = cdist(sample[:, cols], sample[:, cols])
            np.fill_diagonal(D, np.nan)
            dmin = np.nanmin(D, axis=1)
            dmax = np.nanmax(D, axis=1)
            ok = dmin > 0
            if ok.any():
                values.append(float(np.mean((dmax[ok] - dmin[ok]) / dmin[ok])))
        out.append(float(np.mean(values)) if values else float("inf"))
    return dims, tuple(out)

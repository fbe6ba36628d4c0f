"""Folds by row id, so a dataset version is paired fold by fold with the dataset it came from.

An imported (root) dataset keeps scikit-learn's splitter on its development rows, so its fold
scores equal ``cross_validate``'s. A version (:mod:`core.data.versions`) stores nothing about
folds: its rows are split as the root's rows were (the same splitter, folds, repeats and seed on
the ROOT's development rows), each kept row in the fold its id had there, and dropped rows are
simply missing from their folds. Its ``folds_hash`` is the root's, so two runs with the same
hash on datasets of one lineage share fold ``k`` up to the rows an edit dropped
(:mod:`core.analysis.compare` pairs them).
"""

from __future__ import annotations

from typing import Any

from core.data.frames import load_targets
from core.data.ranking import dataset_groups
from core.modeling.evaluation import fold_splits, folds_hash, make_splitter
from core.store import Store
from core.store.datasets import get_dataset
from core.types import DatasetInfo, RunSample


def root_dataset(store: Store, dataset: DatasetInfo) -> DatasetInfo:
    """The imported dataset a version was derived from, through its parents (itself if imported)."""
    while dataset.parent_id is not None:
        dataset = get_dataset(store, dataset.parent_id)
    return dataset


def dataset_splits(
    store: Store,
    dataset: DatasetInfo,
    folds: int,
    repeats: int,
    seed: int,
    X: Any,
    y: Any,
    groups: Any = None,
    sample: RunSample | None = None,
) -> tuple[list[tuple[Any, Any]], str]:
    """The (train, validation) positions of each fold over ``X`` (``dataset``'s development rows, from
    :func:`load_split`, or only its ``sample``'s) and the folds' hash.

    A sample's rows are split by the splitter itself, a version's too (its root's rows are not loaded
    for it), so a sampled run's fold scores equal ``cross_validate``'s on the sample."""
    import numpy as np

    if dataset.parent_id is None or sample is not None:
        splits = fold_splits(make_splitter(dataset.task, folds, repeats, seed, groups), X, y, dataset)
        return splits, folds_hash(splits)
    import pandas as pd

    root = root_dataset(store, dataset)
    y_root = load_targets(store, root)  # the splitters need the rows and their targets, not the features
    X_root = pd.DataFrame(index=y_root.index)
    root_groups = dataset_groups(store, root)
    root_splits = fold_splits(make_splitter(root.task, folds, repeats, seed, root_groups), X_root, y_root, root)
    root_ids = X_root.index.to_numpy()
    ids = X.index.to_numpy()
    out = []
    for _, val in root_splits:
        is_val = np.isin(ids, root_ids[val])
        out.append((np.flatnonzero(~is_val), np.flatnonzero(is_val)))
    return out, folds_hash(root_splits)


def rerun_like(
    store: Store, dataset_ref: str | int, run_ref: str | int, *, whole_group: bool = False, **options: Any
) -> list[int]:
    """Run ``run_ref``'s model and parameters (or those of every run of its group) with its folds,
    repeats, seed and sample size on another dataset (a version, usually); the new run ids. ``options``
    go to :func:`run_specs` (jobs, cluster, progress callbacks, another ``sample``)."""
    from core.errors import InputError
    from core.modeling.evaluation import run_specs
    from core.modeling.specs import run_model
    from core.store.runs import get_run, list_runs

    run = get_run(store, run_ref)
    dataset = get_dataset(store, dataset_ref)
    if dataset.task != run.task:
        raise InputError(f"run {run.id} is a {run.task} run; {dataset.name!r} is a {dataset.task} dataset")
    runs = [run]
    if whole_group:
        runs = sorted((r for r in list_runs(store, run.dataset_id) if r.group_id == run.group_id), key=lambda r: r.id)
    specs = [(run_model(r), dict(r.params)) for r in runs]
    if options.get("sample") is None:  # the same draw: its size (and the run's seed)
        options["sample"] = run.sample.size if run.sample else "all"
    return run_specs(store, dataset, specs, folds=run.folds, repeats=run.repeats, seed=run.seed, **options)

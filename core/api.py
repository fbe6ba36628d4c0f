"""The Python API: mlloop from a script or a notebook, over the same store and engine as the CLI.

    from core import api
    store = api.open_store("mlloop.duckdb")
    api.import_data(store, frame, target="species", name="penguins")
    run_id = api.run(store, "penguins", SVC(C=2.0, probability=True), name="svc", cv=5)
    api.runs(store)                       # a pandas DataFrame, one row per run

Runs made here are ordinary runs: the CLI and an open TUI list them. An estimator object is
cloned for every fold and pickled to worker processes in memory only; its run records the class,
``get_params()`` and ``repr``, and features that re-create a model from the store (tune, curves,
the test set) refuse it with one line (:func:`core.modeling.specs.run_model`).
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.analysis.compare import Comparison, compare_runs
from core.data.importing import import_dataset
from core.errors import InputError, RunCancelled
from core.modeling.evaluation import Progress, run_specs
from core.modeling.metrics import METRICS
from core.modeling.models import BASELINES, resolve_models
from core.modeling.specs import ModelSpec, check_name, object_spec, parse_model_option, parse_spec
from core.stopping import StopToken
from core.store import Store, default_store_path
from core.store.datasets import get_dataset
from core.store.runs import get_run, list_runs
from core.text import error_line
from core.types import DatasetInfo, RunRecord, Task

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DATAFRAME_SOURCE",
    "Comparison",
    "Progress",
    "StopToken",
    "Store",
    "compare",
    "folds",
    "import_data",
    "open_store",
    "run",
    "runs",
]

DATAFRAME_SOURCE = "pandas DataFrame (core.api.import_data)"


def open_store(path: str | Path | None = None) -> Store:
    """The store at ``path``; by default the CLI's (``$MLLOOP_STORE``, else ``./mlloop.duckdb``)."""
    return Store(path if path is not None else default_store_path())


def import_data(
    store: Store,
    data: str | Path | pd.DataFrame,
    target: str,
    name: str | None = None,
    task: Task | None = None,
    test_size: float = 0.2,
    seed: int = 0,
) -> DatasetInfo:
    """Import a CSV/Parquet file, or a DataFrame, as a dataset (profiled, its test split locked).

    A DataFrame (its index left out) goes through a temporary Parquet file and the same import as a
    file, so it gets the same hash, profile and split; it needs a ``name``, and its recorded source
    is :data:`DATAFRAME_SOURCE`.
    """
    if isinstance(data, (str, Path)):
        return import_dataset(store, data, target, name=name, task=task, test_size=test_size, seed=seed)
    import pandas as pd

    if not isinstance(data, pd.DataFrame):
        raise InputError(f"data must be a file path or a pandas DataFrame, got {type(data).__name__}")
    if not name:
        raise InputError("a DataFrame has no file name: pass name=")
    with tempfile.TemporaryDirectory(prefix="mlloop-api-") as folder:
        path = Path(folder) / (re.sub(r"[^\w.-]", "_", name) + ".parquet")  # import errors name this file
        try:
            data.to_parquet(path, index=False)
        except Exception as e:
            raise InputError(f"cannot write the DataFrame as Parquet: {error_line(e)}") from None
        info = import_dataset(store, path, target, name=name, task=task, test_size=test_size, seed=seed)
    with store.write() as con:
        con.execute("UPDATE datasets SET source = ? WHERE id = ?", [DATAFRAME_SOURCE, info.id])
    return replace(info, source=DATAFRAME_SOURCE)


def run(
    store: Store,
    dataset: str | int,
    model: Any,
    *,
    name: str | None = None,
    params: dict[str, Any] | None = None,
    cv: int = 5,
    repeats: int = 1,
    seed: int = 0,
    sample: int | str | None = None,
    jobs: int = 1,
    on_progress: Callable[[Progress], None] | None = None,
    stop: StopToken | None = None,
) -> int | list[int]:
    """Cross-validate ``model`` on the dataset's development rows, fold results committed as they finish.

    ``model`` is a built-in's name (``"all"``: every built-in), a spec (``"sklearn.svm.SVC(C=2.0)"``
    or ``"NAME=SPEC"``, as ``--model`` takes) or an estimator object; ``name`` names a spec or an
    object (default: its class or function name). ``params`` are set on the estimator. ``sample``
    fits on that many development rows, drawn in DuckDB with ``seed`` (stratified for classification,
    whole groups for ranking); ``"all"`` on every row; None on every row unless they exceed the memory
    budget (:mod:`core.data.sampling`). Returns the run id (a list for ``"all"``). ``on_progress`` is
    called after every fold; a set ``stop`` token or Ctrl-C marks the run ``cancelled``, keeps its
    finished folds and raises ``RunCancelled``.
    """
    info = get_dataset(store, dataset)
    entries = _entries(model, name, info.task, params)
    created: list[int] = []
    try:
        ids = run_specs(
            store,
            info,
            entries,
            folds=cv,
            repeats=repeats,
            seed=seed,
            sample=sample,
            jobs=jobs,
            on_created=lambda _group, run_ids: created.extend(run_ids),
            on_progress=on_progress,
            stop=stop,
        )
    except RunCancelled as e:
        raise RunCancelled(f"run {', '.join(map(str, created))} {e}") from None
    return ids if isinstance(model, str) and model == "all" else ids[0]


def _entries(
    model: Any, name: str | None, task: Task, params: dict[str, Any] | None
) -> list[tuple[str | ModelSpec, dict[str, Any] | None]]:
    """``(model, params)`` pairs for :func:`~core.modeling.evaluation.run_specs`."""
    if not isinstance(model, str):
        return [(object_spec(name or type(model).__name__, model), params)]
    text = model.strip()
    if text == "all" or text in BASELINES:
        if name is not None:
            raise InputError(f"name= is for a spec or an estimator object; the built-in {text!r} keeps its name")
        if params and text == "all":
            raise InputError("params= with model='all' would set one model's parameters on every model")
        return [(b.name, params) for b in resolve_models(text, task)]
    if "=" in text.split("(")[0]:  # NAME=SPEC, as --model takes it
        spec = parse_model_option(text)
        if name is not None and name != spec.name:
            raise InputError(f"the spec is named {spec.name!r} and name={name!r}; give one name")
        return [(spec, params)]
    spec = parse_spec(name or "spec", text)
    spec_name = name or spec.function or spec.target.rsplit(".", 1)[-1]
    check_name(spec_name, "model name")
    return [(replace(spec, name=spec_name), params)]


def runs(store: Store, dataset: str | int | None = None) -> pd.DataFrame:
    """One row per run, oldest first: id, group, dataset, model, status, cv (``folds×repeats``),
    folds_done, then ``METRIC_mean`` and ``METRIC_std`` of the validation scores per metric."""
    import pandas as pd

    dataset_id = None if dataset is None else get_dataset(store, dataset).id
    records = list_runs(store, dataset_id)[::-1]
    metrics = _metric_order({m for r in records for m in r.summaries})
    rows = []
    for r in records:
        row: dict[str, Any] = {
            "id": r.id,
            "group": r.group_id,
            "dataset": r.dataset,
            "model": r.model,
            "status": r.status,
            "cv": f"{r.folds}×{r.repeats}",
            "folds_done": r.n_folds_done,
        }
        for m in metrics:
            s = r.summaries.get(m)
            row[f"{m}_mean"] = s.val_mean if s else math.nan
            row[f"{m}_std"] = s.val_std if s else math.nan
        rows.append(row)
    columns = ["id", "group", "dataset", "model", "status", "cv", "folds_done"]
    return pd.DataFrame(rows, columns=columns + [f"{m}_{s}" for m in metrics for s in ("mean", "std")])


def folds(store: Store, run_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Every finished fold's scores, one row per run, repeat, fold and metric (train and validation)."""
    import pandas as pd

    records: list[RunRecord] = (
        list_runs(store, with_folds=True)[::-1] if run_ids is None else [get_run(store, r) for r in run_ids]
    )
    rows = [
        (r.id, f.repeat, f.fold, metric, f.train.get(metric, math.nan), value)
        for r in records
        for f in r.fold_scores
        for metric, value in f.validation.items()
    ]
    return pd.DataFrame(rows, columns=["run", "repeat", "fold", "metric", "train", "validation"])


def compare(store: Store, run_ids: Sequence[int], metric: str | None = None) -> Comparison:
    """The comparison ``mlloop compare`` prints: deltas against the first run and, per other run, a
    corrected resampled t-test on the shared folds (``.pairs``: ``mean_diff``, ``t``, ``p``)."""
    return compare_runs(store, list(run_ids), metric=metric)


def _metric_order(names: set[str]) -> list[str]:
    return [m for m in METRICS if m in names] + sorted(names - set(METRICS))

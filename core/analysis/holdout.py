"""The locked test set: an explicit, recorded and counted evaluation of a run on the hold-out rows.

Cross-validation only ever sees a dataset's development rows; the hold-out ('test') rows
drawn at import are touched here and nowhere else. An evaluation fits the run's pipeline
(same model, parameters and seed) on the whole development split, scores the test rows with
the run's metrics and records the scores (``test_evaluations``). Every evaluation counts: the
first one on a dataset is an unbiased estimate of the chosen run's error; from the second on,
the test set has started to take part in choosing, and the result says so
(:attr:`TestEvaluation.warning`).
"""

from __future__ import annotations

import json
import math
import time
import warnings as _warnings
from dataclasses import dataclass

from core.errors import InputError, MlloopError
from core.store import Store

__all__ = ["TestEvaluation", "count_test_evaluations", "evaluate_on_test", "list_test_evaluations"]


@dataclass(frozen=True)
class TestEvaluation:
    """One evaluation of a run on its dataset's locked test rows.

    ``ordinal`` is its rank among the evaluations of the same dataset (1 = the first);
    ``warning`` is set from the second on. ``fit_warnings`` are warnings raised while fitting.
    """

    __test__ = False  # not a pytest test class, whatever its name

    id: int
    run_id: int
    dataset_id: int
    dataset: str
    model: str
    created_at: float
    n_train: int
    n_test: int
    fit_time: float
    scores: dict[str, float]
    ordinal: int
    earlier_runs: tuple[int, ...] = ()  # runs evaluated on this dataset's test rows before this one
    fit_warnings: tuple[str, ...] = ()

    @property
    def warning(self) -> str | None:
        if self.ordinal < 2:
            return None
        earlier = ", ".join(map(str, dict.fromkeys(self.earlier_runs)))
        return (f"this is evaluation {self.ordinal} on the test set of {self.dataset!r} (earlier: run "
                f"{earlier}): once test scores have been looked at to choose, the test score is no longer an "
                "unbiased estimate of the error on new data")


def evaluate_on_test(store: Store, run_id: int | str) -> TestEvaluation:
    """Fit the run's pipeline on all development rows, score the locked test rows, record it."""
    from sklearn.metrics import check_scoring

    from core.data.frames import load_split
    from core.store.datasets import get_dataset
    from core.modeling.evaluation import _one_line, _signed, _warning_lines, build_pipeline, scoring
    from core.modeling.models import BASELINES
    from core.store.runs import _finite, get_run

    run = get_run(store, run_id)
    baseline = BASELINES.get(run.model)
    if baseline is None:
        raise InputError(f"run {run.id} used the model {run.model!r}, which this mlloop does not know")
    dataset = get_dataset(store, run.dataset_id)
    if dataset.n_test == 0:
        raise InputError(f"dataset {dataset.name!r} has no locked test rows (imported with --test-size 0?)")
    X_dev, y_dev = load_split(store, dataset, "dev")
    X_test, y_test = load_split(store, dataset, "test")
    scorers = scoring(dataset.task)
    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always")
        try:
            est = build_pipeline(baseline, dataset, X_dev, run.params, run.seed)
            start = time.perf_counter()
            est.fit(X_dev, y_dev)
            fit_time = time.perf_counter() - start
            scores = _signed(check_scoring(est, scoring=scorers, raise_exc=False)(est, X_test, y_test), scorers)
        except Exception as e:
            raise MlloopError(f"run {run.id} could not be fitted on the development rows: {_one_line(e)}") from e
    fit_warnings = tuple(_warning_lines(caught))[:20]
    now = time.time()
    with store.write() as con:
        earlier = [r[0] for r in con.execute(
            "SELECT run_id FROM test_evaluations WHERE dataset_id = ? ORDER BY id", [dataset.id]
        ).fetchall()]
        eval_id = con.execute("SELECT nextval('test_evaluation_ids')").fetchone()[0]
        con.execute(
            "INSERT INTO test_evaluations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [eval_id, run.id, dataset.id, now, len(y_dev), len(y_test), fit_time,
             json.dumps({k: _finite(v) for k, v in scores.items()}), json.dumps(list(fit_warnings))],
        )
    return TestEvaluation(
        id=eval_id, run_id=run.id, dataset_id=dataset.id, dataset=dataset.name, model=run.model,
        created_at=now, n_train=len(y_dev), n_test=len(y_test), fit_time=fit_time, scores=scores,
        ordinal=len(earlier) + 1, earlier_runs=tuple(earlier), fit_warnings=fit_warnings,
    )


def list_test_evaluations(store: Store, dataset: str | int | None = None,
                          run_id: int | str | None = None) -> list[TestEvaluation]:
    """Recorded evaluations, oldest first: all, one dataset's, or one run's."""
    from core.store.runs import parse_run_id

    where, args = [], []
    if dataset is not None:
        from core.store.datasets import get_dataset

        where.append("t.dataset_id = ?")
        args.append(get_dataset(store, dataset).id)
    if run_id is not None:
        where.append("t.run_id = ?")
        args.append(parse_run_id(run_id))
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    with store.read() as con:
        rows = con.execute(
            f"""SELECT t.id, t.run_id, t.dataset_id, d.name, r.model, t.created_at, t.n_train, t.n_test, t.fit_time,
                       CAST(t.scores AS VARCHAR), CAST(t.warnings AS VARCHAR),
                       (SELECT list(e.run_id ORDER BY e.id) FROM test_evaluations e
                        WHERE e.dataset_id = t.dataset_id AND e.id < t.id)
                FROM test_evaluations t JOIN datasets d ON d.id = t.dataset_id
                LEFT JOIN runs r ON r.id = t.run_id {clause} ORDER BY t.id""",
            args,
        ).fetchall()
    return [
        TestEvaluation(
            id=r[0], run_id=r[1], dataset_id=r[2], dataset=r[3], model=r[4] or "?", created_at=r[5],
            n_train=r[6], n_test=r[7], fit_time=math.nan if r[8] is None else r[8],
            scores={k: math.nan if v is None else float(v) for k, v in json.loads(r[9]).items()},
            ordinal=len(r[11] or []) + 1, earlier_runs=tuple(r[11] or []), fit_warnings=tuple(json.loads(r[10])),
        )
        for r in rows
    ]


def count_test_evaluations(store: Store, dataset: str | int) -> int:
    """How many times the dataset's locked test rows have been evaluated."""
    from core.store.datasets import get_dataset

    dataset_id = get_dataset(store, dataset).id
    with store.read() as con:
        return int(con.execute("SELECT count(*) FROM test_evaluations WHERE dataset_id = ?", [dataset_id]).fetchone()[0])

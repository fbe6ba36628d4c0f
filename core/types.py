"""Plain, frozen records the engine hands out.

Everything here is immutable data with no behaviour beyond small derived views, so the
TUI, the CLI and exports can share one vocabulary without reaching into the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Task = Literal["binary", "multiclass", "regression", "ranking"]
RunStatus = Literal["queued", "running", "done", "failed", "cancelled", "interrupted"]
ColumnKind = Literal["numeric", "categorical", "boolean", "datetime", "text"]
ColumnRole = Literal["feature", "target", "ignored"]  # only 'feature' columns reach a model

CLASSIFICATION_TASKS = ("binary", "multiclass")


@dataclass(frozen=True)
class ColumnProfile:
    """What one column of an imported dataset holds."""

    position: int
    name: str
    sql_type: str
    kind: ColumnKind
    n_missing: int
    n_distinct: int
    min: str | None = None
    max: str | None = None
    mean: float | None = None
    std: float | None = None
    top_values: tuple[tuple[str, int], ...] = ()
    role: ColumnRole = "feature"


@dataclass(frozen=True)
class DatasetInfo:
    """An imported dataset: its facts, its target and its locked hold-out split."""

    id: int
    name: str
    source: str
    format: str
    encoding: str | None
    file_hash: str
    n_rows: int
    n_cols: int
    target: str
    task: Task
    classes: tuple[str, ...]
    test_size: float
    split_seed: int
    n_dev: int
    n_test: int
    n_unlabeled: int
    created_at: float
    notes: tuple[str, ...] = ()
    columns: tuple[ColumnProfile, ...] = ()
    group: str | None = None  # ranking: the column whose rows form one query (never a feature)
    parent_id: int | None = None  # a version (core.data.versions): the dataset it was derived from
    recipe: str | None = None  # a version: its edits as JSON (what, which rows/columns, note, when)
    memory: int | None = None  # the import's --memory in bytes: its runs' memory budget (None: the default)

    @property
    def is_classification(self) -> bool:
        return self.task in CLASSIFICATION_TASKS

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.role == "feature" and c.name not in (self.target, self.group))


@dataclass(frozen=True)
class FoldScore:
    """One fold's scores: ``train`` and ``validation`` map metric name to value."""

    index: int
    repeat: int
    fold: int
    n_train: int
    n_val: int
    fit_time: float
    score_time: float
    train: dict[str, float]
    validation: dict[str, float]


@dataclass(frozen=True)
class MetricSummary:
    """Mean and sample standard deviation of one metric over the folds that finished."""

    metric: str
    train_mean: float
    train_std: float
    val_mean: float
    val_std: float
    n: int


@dataclass(frozen=True)
class GlmCoefficient:
    term: str
    coef: float
    std_err: float
    z: float
    p: float
    ci_low: float
    ci_high: float
    label: str = ""  # the class a multinomial row belongs to; empty otherwise


@dataclass(frozen=True)
class GlmSummary:
    """A statsmodels GLM fitted on the whole development set, as numbers."""

    family: str
    link: str
    n_obs: int
    df_model: float
    df_resid: float
    deviance: float
    null_deviance: float
    aic: float
    llf: float
    converged: bool
    warnings: tuple[str, ...]
    coefficients: tuple[GlmCoefficient, ...]


@dataclass(frozen=True)
class DataWarning:
    """A data-quality finding that can inflate every score on its dataset (leakage, an identifier used
    as a feature ...): ``kind`` is the finding's kind, ``fix`` the edit that removes it, in words."""

    kind: str
    message: str
    fix: str


@dataclass(frozen=True)
class ModelSpecInfo:
    """What a model spec run records (core.modeling.specs): the spec's text and the estimator it
    resolved to. ``versions`` (the package the class came from) is written into the run's own
    ``versions`` when the run is created, so a stored run reads it back there, not here."""

    text: str
    estimator_class: str  # module.qualname
    params: dict[str, Any]  # get_params(), a value JSON cannot hold as its repr
    versions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunSample:
    """The development rows a run was fitted on when it was not all of them (:mod:`core.data.sampling`):
    ``size`` rows asked for (``--sample N`` or the memory cap), ``rows`` drawn (whole groups may pass
    ``size``) of the dataset's ``of``, with the run's ``seed``, ``how`` (``stratified`` by class, whole
    ``groups``, ``uniform``); ``strata`` the rows per class; ``note`` why, when drawn automatically."""

    size: int
    rows: int
    of: int
    seed: int
    how: Literal["stratified", "groups", "uniform"]
    strata: tuple[tuple[str, int], ...] = ()
    note: str | None = None

    def describe(self) -> str:
        how = {"groups": "by whole groups", "uniform": "uniform"}.get(self.how, self.how)
        return f"fitted on a sample of {self.rows:,} of {self.of:,} development rows (seed {self.seed}, {how})"


@dataclass(frozen=True)
class RunRecord:
    """A stored run with its folds. ``status`` already accounts for dead processes."""

    id: int
    group_id: int
    dataset_id: int
    dataset: str
    task: Task
    model: str
    params: dict[str, Any]  # the estimator's parameters, as stored JSON
    folds: int
    repeats: int
    seed: int
    status: RunStatus
    created_at: float
    started_at: float | None
    finished_at: float | None
    duration_s: float | None
    pid: int | None
    host: str | None
    versions: dict[str, str]  # library name -> version
    dataset_hash: str
    folds_hash: str | None
    error: str | None
    cost_s: float | None = None  # what the run cost: its folds' fit and score times, summed (None: no fold yet)
    group_wall_s: float | None = None  # its group's start to its last run's end (None while the group works)
    n_folds_done: int = 0
    summaries: dict[str, MetricSummary] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    fold_scores: tuple[FoldScore, ...] = ()  # filled by get_run, empty in listings
    glm: GlmSummary | None = None
    data_warnings: tuple[DataWarning, ...] = ()  # from the dataset's last quality check
    spec: ModelSpecInfo | None = None  # set for a model spec run, None for a built-in model
    sample: RunSample | None = None  # set when the run was fitted on a sample of the development rows

    @property
    def n_folds_total(self) -> int:
        return self.folds * self.repeats

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(self.summaries)


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
        return (
            f"this is evaluation {self.ordinal} on the test set of {self.dataset!r} (earlier: run "
            f"{earlier}): once test scores have been looked at to choose, the test score is no longer an "
            "unbiased estimate of the error on new data"
        )

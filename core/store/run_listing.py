"""The runs table's rows, kept in DuckDB: sorted and filtered there, and read back a screenful at a time.

A listing copies every run's listed fields and per-metric score summaries out of the store into an
in-memory DuckDB database, in one read (on a worker thread). The runs table then asks it for the order
of the runs that pass a filter (one SQL query over 100,000 runs takes milliseconds where sorting as
many Python records took most of a second) and for the records of the rows it paints; it never holds
a record per run. Building a listing reads no Python object per run either: the rows travel as Arrow.

Sorting and filtering follow the runs table's rules: every sort breaks ties newest first (as a stable
sort of the newest-first list does), missing or NaN scores sort after every score, and a metric
condition never matches a run without that score.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import duckdb
import pyarrow as pa

from core.store.connection import NO_EXTENSIONS, Store
from core.store.quality_checks import warnings_from_json
from core.store.run_json import JsonTexts, sample_json
from core.store.runs import ACTIVE, RUN_COLUMNS, RUN_FROM, SUMMARY_AGGREGATES, dead_run_ids, run_record
from core.types import MetricSummary, RunRecord

FIELDS = ("dataset", "model", "status")
"""The text fields a filter term looks in."""
OPERATORS = ("<=", ">=", "<", ">", "=")
ORDERS_KEPT = 4  # a listing's orders remembered: the filtered one and the one before it, with sorts

_NAMES = (
    "id group_id dataset_id dataset task model params folds repeats seed status created_at started_at "
    "finished_at duration_s cost_s group_wall_s pid host versions dataset_hash folds_hash error warnings "
    "heartbeat_at n_done "
    "data_warnings spec estimator sample"
).split()
_SUMMARY_NAMES = ("run_id", "metric", "tm", "ts", "vm", "vs", "n")


@dataclass(frozen=True)
class TextTerm:
    """Matches when ``needle`` (lower case) is in any of ``fields``, compared in lower case."""

    fields: tuple[str, ...]
    needle: str


@dataclass(frozen=True)
class MetricTerm:
    """Matches when the metric's mean validation score is a number and ``<op> bound`` holds."""

    metric: str
    op: str
    bound: float


Term = TextTerm | MetricTerm


@dataclass(frozen=True)
class MetricRange:
    """What a metric column's widest cell can be made of: the extreme means and the largest spread."""

    min_mean: float
    max_mean: float
    max_std: float  # NaN when no run has a spread (one fold each)
    single: bool  # some run has a mean but no spread
    missing: bool  # some run has no mean, or a NaN one


@dataclass(frozen=True)
class ListingShape:
    """The few distinct values the runs table's column widths depend on."""

    max_id: int
    max_group: int
    datasets: tuple[tuple[str, bool], ...]  # (name, warned)
    models: tuple[str, ...]
    statuses: tuple[tuple[str, int, int], ...]  # (status, folds done, folds in all)
    max_cost: float | None
    no_cost: bool  # some run has no cost yet (no fold)
    max_wall: float | None
    no_wall: bool  # some run's group is still working
    metrics: dict[str, MetricRange]


class RunListing:
    """Every run, newest first, in an in-memory DuckDB database; see the module's docstring.

    Use from one thread at a time (the UI thread, once built)."""

    def __init__(self, runs: pa.Table, summaries: pa.Table) -> None:
        self._con = duckdb.connect(":memory:", config=NO_EXTENSIONS)
        self._means: frozenset[str] | None = None
        self._orders: dict[tuple[Any, ...], list[int]] = {}  # the last few orders asked for (see order)
        self._con.register("runs_arrow", runs)
        self._con.register("summaries_arrow", summaries)
        self._con.execute("CREATE TABLE runs AS SELECT * FROM runs_arrow ORDER BY id")
        self._con.execute("CREATE TABLE summaries AS SELECT * FROM summaries_arrow ORDER BY run_id, metric")
        self._con.unregister("runs_arrow")
        self._con.unregister("summaries_arrow")
        # one column per metric's mean ("m:accuracy", as the table's column keys): a sort by a score
        # then reads one column instead of joining every run's summaries (3x less work)
        means = "SELECT run_id AS id FROM summaries WHERE false"
        if self._scalar("SELECT count(*) FROM summaries"):
            means = "PIVOT summaries ON ('m:' || metric) USING first(vm) GROUP BY run_id"
        self._con.execute(f"CREATE TABLE means AS SELECT * RENAME (run_id AS id) FROM ({means})")
        self.count: int = self._scalar("SELECT count(*) FROM runs")
        self.active: bool = bool(self._scalar(f"SELECT count(*) FROM runs WHERE status IN {ACTIVE}"))
        # tasks in order of their newest run, as a newest-first list meets them
        self.tasks: tuple[str, ...] = tuple(
            t for (t,) in self._con.execute("SELECT task FROM runs GROUP BY task ORDER BY max(id) DESC").fetchall()
        )

    @classmethod
    def read(cls, store: Store, limit: int | None = None) -> RunListing:
        """Every run of the store (or the newest ``limit``): one read, no Python object per run."""
        cut = "" if limit is None else f"ORDER BY r.id DESC LIMIT {int(limit)}"
        with store.read() as con:
            runs = con.sql(f"SELECT {RUN_COLUMNS} FROM {RUN_FROM} {cut}").to_arrow_table()
            runs = runs.rename_columns(_NAMES)
            ids = "" if limit is None else "WHERE run_id IN (SELECT id FROM runs_arrow)"
            con.register("runs_arrow", runs)
            summaries = con.sql(
                f"SELECT run_id, metric, {SUMMARY_AGGREGATES} FROM fold_scores {ids} GROUP BY run_id, metric"
            ).to_arrow_table()
            con.unregister("runs_arrow")
        listing = cls(runs, summaries.rename_columns(list(_SUMMARY_NAMES)))
        listing._settle_statuses()
        _ = listing.shape  # worked out here, on the reading thread
        return listing

    @classmethod
    def from_records(cls, records: Iterable[RunRecord]) -> RunListing:
        """A listing of records already in hand (their statuses as they are)."""
        records = list(records)
        columns: dict[str, list[Any]] = {name: [] for name in _NAMES}
        summaries: dict[str, list[Any]] = {name: [] for name in _SUMMARY_NAMES}
        for r in records:
            values = _record_values(r)
            for name in _NAMES:
                columns[name].append(values[name])
            for s in r.summaries.values():
                for name, value in zip(_SUMMARY_NAMES, (r.id, s.metric, *_summary_values(s))):
                    summaries[name].append(value)
        return cls(pa.table(columns, schema=_RUNS_SCHEMA), pa.table(summaries, schema=_SUMMARIES_SCHEMA))

    def close(self) -> None:
        self._con.close()

    # -- order ------------------------------------------------------------------------------
    def order(self, terms: Sequence[Term], sort: str, descending: bool, marked: Iterable[int] = ()) -> list[int]:
        """The ids of the runs matching every term, sorted by ``sort`` (a column key of the runs
        table: ``mark id group dataset model status time wall`` or ``m:<metric>``), ties newest first.

        A listing never changes once read, so the last few orders are kept: clearing a filter goes back
        to the order shown before it without a query over every run."""
        marked = sorted(marked) if sort == "mark" else []  # only the mark column's order depends on the marks
        key = (tuple(terms), sort, descending, tuple(marked))
        cached = self._orders.get(key)
        if cached is None:
            cached = self._order(terms, sort, descending, marked)
            if len(self._orders) >= ORDERS_KEPT:
                del self._orders[next(iter(self._orders))]
            self._orders[key] = cached
        return list(cached)

    def _order(self, terms: Sequence[Term], sort: str, descending: bool, marked: Iterable[int]) -> list[int]:
        means = self._mean_columns()
        where, args = _where(terms, means)
        joined = any(isinstance(t, MetricTerm) and "m:" + t.metric in means for t in terms) or sort in means
        way = "DESC" if descending else "ASC"
        keys: list[str]
        if sort.startswith("m:"):
            mean = f"m.{_quoted(sort)}" if sort in means else "NULL::DOUBLE"
            missing = f"({mean} IS NULL OR isnan({mean}))"
            keys = [missing, f"CASE WHEN {missing} THEN 0.0 ELSE {mean} END"]
        else:
            keys = {
                "mark": ["list_contains(?::BIGINT[], r.id)"],
                "id": ["r.id"],
                "group": ["r.group_id", "r.id"],
                "dataset": ["lower(r.dataset)"],
                "model": ["r.model"],
                "status": ["r.status", "r.n_done"],
                "time": ["coalesce(r.cost_s, -1.0)"],
                "wall": ["coalesce(r.group_wall_s, -1.0)"],
            }[sort]
            if sort == "mark":
                args = [sorted(marked), *args]
        by = ", ".join(f"{k} {way}" for k in keys)
        # the means only when a metric sorts or filters (a join of every run costs more than the sort)
        join = "LEFT JOIN means m ON m.id = r.id" if joined else ""
        sql = f"SELECT r.id FROM runs r {join} {where} ORDER BY {by}, r.id DESC"
        return cast(list[int], self._con.execute(sql, args).fetchnumpy()["id"].tolist())

    # -- rows -------------------------------------------------------------------------------
    def records(self, ids: Sequence[int]) -> dict[int, RunRecord]:
        """The records of these runs (no fold scores), by id."""
        if not ids:
            return {}
        wanted = [int(i) for i in ids]
        rows = self._con.execute(
            f"SELECT {', '.join(_NAMES)} FROM runs WHERE id IN (SELECT unnest(?::BIGINT[]))", [wanted]
        ).fetchall()
        summaries: dict[int, dict[str, MetricSummary]] = {}
        for run_id, metric, *values in self._con.execute(
            "SELECT * FROM summaries WHERE run_id IN (SELECT unnest(?::BIGINT[])) ORDER BY run_id, metric", [wanted]
        ).fetchall():
            summaries.setdefault(run_id, {})[metric] = MetricSummary(metric, *values)
        json_text = JsonTexts()
        data_warnings = functools.cache(warnings_from_json)
        return {
            row[0]: run_record(row, summaries.get(row[0], {}), (), json_text, data_warnings, settled=True)
            for row in rows
        }

    def present(self, ids: Iterable[int]) -> set[int]:
        """Those of ``ids`` that are runs of this listing."""
        wanted = sorted(ids)
        if not wanted:
            return set()
        found = self._con.execute("SELECT id FROM runs WHERE id IN (SELECT unnest(?::BIGINT[]))", [wanted])
        return {rid for (rid,) in found.fetchall()}

    @functools.cached_property
    def shape(self) -> ListingShape:
        """What the column widths of every run are made of (a few distinct values, not a row each)."""
        max_id, max_group, max_cost, no_cost, max_wall, no_wall = self._con.execute(
            "SELECT coalesce(max(id), 0), coalesce(max(group_id), 0), max(cost_s), "
            "count(*) FILTER (WHERE cost_s IS NULL) > 0, max(group_wall_s), "
            "count(*) FILTER (WHERE group_wall_s IS NULL) > 0 FROM runs"
        ).fetchall()[0]
        warned = functools.cache(lambda text: bool(warnings_from_json(text)))
        datasets = {
            (name, warned(text))
            for name, text in self._con.execute("SELECT DISTINCT dataset, data_warnings FROM runs").fetchall()
        }
        models = tuple(m for (m,) in self._con.execute("SELECT DISTINCT model FROM runs ORDER BY model").fetchall())
        statuses = tuple(
            self._con.execute("SELECT DISTINCT status, n_done, folds * repeats FROM runs ORDER BY ALL").fetchall()
        )
        ranges = {}
        for metric, low, high, spread, single, missing in self._con.execute(
            """SELECT metric, min(vm) FILTER (WHERE NOT isnan(vm)), max(vm) FILTER (WHERE NOT isnan(vm)),
                      max(vs) FILTER (WHERE NOT isnan(vs) AND NOT isnan(vm)),
                      count(*) FILTER (WHERE NOT isnan(vm) AND isnan(vs)) > 0,
                      count(*) FILTER (WHERE NOT isnan(vm)) < (SELECT count(*) FROM runs)
               FROM summaries GROUP BY metric"""
        ).fetchall():
            if low is None:
                ranges[metric] = MetricRange(math.nan, math.nan, math.nan, False, True)
            else:
                ranges[metric] = MetricRange(low, high, math.nan if spread is None else spread, single, missing)
        times = (max_cost, no_cost, max_wall, no_wall)
        return ListingShape(max_id, max_group, tuple(sorted(datasets)), models, statuses, *times, ranges)

    # -- inside -----------------------------------------------------------------------------
    def _mean_columns(self) -> frozenset[str]:
        if self._means is None:
            self._means = frozenset(c for (c, *_) in self._con.execute("DESCRIBE means").fetchall())
        return self._means

    def _scalar(self, sql: str) -> Any:
        return self._con.execute(sql).fetchall()[0][0]

    def _settle_statuses(self) -> None:
        """Active runs whose process is gone are listed (sorted, filtered) as ``interrupted``."""
        dead = dead_run_ids(self._con)
        if dead:
            self._con.execute("UPDATE runs SET status = 'interrupted' WHERE list_contains(?::BIGINT[], id)", [dead])
            self.active = bool(self._scalar(f"SELECT count(*) FROM runs WHERE status IN {ACTIVE}"))


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _where(terms: Sequence[Term], columns: frozenset[str]) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    for term in terms:
        if isinstance(term, TextTerm):
            fields = [f for f in term.fields if f in FIELDS]
            clauses.append("(" + " OR ".join(f"contains(lower(r.{f}), ?)" for f in fields) + ")" if fields else "false")
            args += [term.needle.lower()] * len(fields)
        else:
            if term.op not in OPERATORS:
                raise ValueError(f"unknown operator {term.op!r}")
            mean = f"m.{_quoted('m:' + term.metric)}" if "m:" + term.metric in columns else "NULL::DOUBLE"
            clauses.append(f"coalesce(NOT isnan({mean}) AND {mean} {term.op} ?, false)")
            args.append(float(term.bound))
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), args


def _record_values(r: RunRecord) -> dict[str, Any]:
    import json

    return {
        "id": r.id,
        "group_id": r.group_id,
        "dataset_id": r.dataset_id,
        "dataset": r.dataset,
        "task": r.task,
        "model": r.model,
        "params": json.dumps(r.params),
        "folds": r.folds,
        "repeats": r.repeats,
        "seed": r.seed,
        "status": r.status,
        "created_at": r.created_at,
        "started_at": r.started_at,
        "finished_at": r.finished_at,
        "duration_s": r.duration_s,
        "cost_s": r.cost_s,
        "group_wall_s": r.group_wall_s,
        "pid": r.pid,
        "host": r.host,
        "versions": json.dumps(r.versions),
        "dataset_hash": r.dataset_hash,
        "folds_hash": r.folds_hash,
        "error": r.error,
        "warnings": json.dumps(list(r.warnings)),
        "heartbeat_at": None,
        "n_done": r.n_folds_done,
        "data_warnings": json.dumps([{"kind": w.kind, "message": w.message, "fix": w.fix} for w in r.data_warnings])
        if r.data_warnings
        else None,
        "spec": r.spec.text if r.spec else None,
        "estimator": json.dumps({"class": r.spec.estimator_class, "params": r.spec.params}) if r.spec else None,
        "sample": sample_json(r.sample),
    }


def _summary_values(s: MetricSummary) -> tuple[float, float, float, float, int]:
    return (s.train_mean, s.train_std, s.val_mean, s.val_std, s.n)


_RUNS_SCHEMA = pa.schema(
    [
        (name, kind)
        for name, kind in zip(
            _NAMES,
            [pa.int64(), pa.int64(), pa.int64(), pa.string(), pa.string(), pa.string(), pa.string(), pa.int64()]
            + [pa.int64(), pa.int64(), pa.string(), pa.float64(), pa.float64(), pa.float64(), pa.float64()]
            + [pa.float64(), pa.float64()]
            + [pa.int64(), pa.string(), pa.string(), pa.string(), pa.string(), pa.string(), pa.string()]
            + [pa.float64(), pa.int64(), pa.string(), pa.string(), pa.string(), pa.string()],
        )
    ]
)
_SUMMARIES_SCHEMA = pa.schema(
    [
        ("run_id", pa.int64()),
        ("metric", pa.string()),
        ("tm", pa.float64()),
        ("ts", pa.float64()),
        ("vm", pa.float64()),
        ("vs", pa.float64()),
        ("n", pa.int64()),
    ]
)

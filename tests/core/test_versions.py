"""Dataset versions: edits as SQL over the parent's rows, folds by row id, paired comparisons."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.analysis.compare import compare_runs
from core.data.frames import load_split
from core.data.importing import import_dataset
from core.data.versions import Edit, create_version
from core.errors import InputError, NotFoundError
from core.modeling.evaluation import run_specs
from core.store import Store
from core.store.datasets import data_layout, get_dataset, list_datasets
from core.store.runs import get_run
from tests.conftest import write_csv


def rows_hash(store: Store, name: str) -> str:
    d = get_dataset(store, name)
    h = hashlib.sha256()
    for part in ("dev", "test"):
        X, y = load_split(store, d, part)
        h.update(pd.util.hash_pandas_object(X.assign(__y=y)).to_numpy().tobytes())
    return h.hexdigest()


def n_tables(store: Store) -> int:
    with store.read() as con:
        return int(con.execute("SELECT count(*) FROM duckdb_tables()").fetchone()[0])


@pytest.fixture
def penguins(store: Store) -> Store:
    import_dataset(store, Path(__file__).parents[2] / "sample_data" / "penguins.csv", "species")
    return store


def test_version_applies_edits_without_touching_the_parent(penguins: Store) -> None:
    store = penguins
    X, y = load_split(store, get_dataset(store, "penguins"))
    before, tables = rows_hash(store, "penguins"), n_tables(store)
    first, second, third = (int(r) for r in X.index[:3])
    new_label = next(c for c in get_dataset(store, "penguins").classes if c != y.loc[third])
    v = create_version(
        store,
        "penguins",
        Edit(drop_columns=("year",), drop_rows=(first, second), relabel=((third, new_label),), note="ids"),
    )
    assert v.name == "penguins@2" and v.parent_id == get_dataset(store, "penguins").id
    X2, y2 = load_split(store, v)
    assert "year" not in X2.columns and list(X2.columns) == [c for c in X.columns if c != "year"]
    assert first not in X2.index and second not in X2.index and len(X2) == len(X) - 2
    assert y2.loc[third] == new_label and y.loc[third] != new_label
    assert (y2.drop(third) == y.drop([first, second, third])).all()
    Xt, _ = load_split(store, get_dataset(store, "penguins"), "test")
    Xt2, _ = load_split(store, v, "test")
    assert list(Xt2.index) == list(Xt.index)  # test rows stay test rows, untouched
    recipe = json.loads(v.recipe or "{}")
    assert recipe["parent"] == "penguins" and recipe["note"] == "ids"
    assert [op["op"] for op in recipe["operations"]] == ["drop_columns", "drop_rows", "relabel"]
    assert rows_hash(store, "penguins") == before
    assert n_tables(store) == tables
    v3 = create_version(store, "penguins@2", Edit(drop_rows=(int(X2.index[0]),)))
    assert v3.name == "penguins@3" and len(load_split(store, v3)[0]) == len(X2) - 1
    assert n_tables(store) == tables and rows_hash(store, "penguins") == before


def test_drop_duplicates_keeps_one_of_each(store: Store, tmp_path: Path) -> None:
    distinct = pd.DataFrame({"a": range(60), "b": ["x", "y", "z"] * 20, "t": ["p", "q"] * 30})
    frame = pd.concat([distinct, distinct.iloc[::4], distinct.iloc[::8]], ignore_index=True)
    import_dataset(store, write_csv(tmp_path / "d.csv", frame), "t")
    v = create_version(store, "d", Edit(drop_duplicates=True))
    X, y = load_split(store, v)
    Xt, yt = load_split(store, v, "test")
    dev, test = X.assign(t=y), Xt.assign(t=yt)
    assert len(Xt) == len(load_split(store, get_dataset(store, "d"), "test")[0])  # test rows stay
    assert not dev.duplicated().any()
    assert not dev.merge(test.drop_duplicates()).shape[0]  # a dev copy of a test row is the one dropped
    assert len(dev) + len(test.drop_duplicates()) == len(frame.drop_duplicates())


def test_runs_on_parent_stay_valid_and_pair_with_a_version(penguins: Store) -> None:
    store = penguins
    (parent_run,) = run_specs(store, "penguins", [("linear", None)], folds=5, seed=3)
    before = get_run(store, parent_run)
    X, _ = load_split(store, get_dataset(store, "penguins"))
    dropped = tuple(int(r) for r in X.index[::9])
    v = create_version(store, "penguins", Edit(drop_rows=dropped))
    (version_run,) = run_specs(store, v.name, [("linear", None)], folds=5, seed=3)
    after = get_run(store, parent_run)
    assert after.fold_scores == before.fold_scores and after.folds_hash == before.folds_hash
    run = get_run(store, version_run)
    assert run.folds_hash == before.folds_hash  # the root's fold assignment
    assert sum(f.n_val for f in before.fold_scores) - sum(f.n_val for f in run.fold_scores) == len(dropped)
    c = compare_runs(store, [version_run, parent_run])
    (pair,) = c.pairs
    assert pair.pairable and pair.n_folds == 5 and 0.0 <= pair.p <= 1.0
    assert f"differ by {len(dropped)} rows" in pair.explanation
    assert c.data_changes and c.data_changes[0].startswith(f"{v.name} (from penguins): dropped {len(dropped)} rows")


def test_version_folds_are_the_roots_folds_less_dropped_rows(penguins: Store) -> None:
    from sklearn.model_selection import StratifiedKFold

    from core.modeling.folds import dataset_splits

    store = penguins
    root = get_dataset(store, "penguins")
    X, y = load_split(store, root)
    v = create_version(store, "penguins", Edit(drop_rows=tuple(int(r) for r in X.index[:40])))
    Xv, yv = load_split(store, v)
    splits, _ = dataset_splits(store, v, 5, 1, 7, Xv, yv)
    expected = list(StratifiedKFold(5, shuffle=True, random_state=7).split(X, y))
    for (train, val), (_, root_val) in zip(splits, expected):
        kept = [r for r in X.index[root_val] if r in set(Xv.index)]
        assert list(Xv.index[val]) == kept
        assert set(Xv.index[train]) == set(Xv.index) - set(kept)


def test_the_targets_alone_are_load_splits_y_for_a_root_and_a_version(penguins: Store, regression_csv: Path) -> None:
    from core.data.frames import load_targets

    store = penguins
    X, _ = load_split(store, get_dataset(store, "penguins"))
    v = create_version(store, "penguins", Edit(drop_rows=tuple(int(r) for r in X.index[:5]), relabel=()))
    import_dataset(store, regression_csv, "y", name="reg")
    for dataset in (get_dataset(store, "penguins"), v, get_dataset(store, "reg")):
        for part in ("dev", "test"):
            _, y = load_split(store, dataset, part)
            pd.testing.assert_series_equal(load_targets(store, dataset, part), y)


def test_store_does_not_double_for_a_version(store: Store, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n, k = 4000, 30
    frame = pd.DataFrame(rng.normal(size=(n, k)).round(5), columns=[f"x{i}" for i in range(k)])
    frame["y"] = rng.choice(["a", "b"], size=n)
    import_dataset(store, write_csv(tmp_path / "big.csv", frame), "y")
    with store.write() as con:
        con.execute("CHECKPOINT")
    size = store.path.stat().st_size
    X, _ = load_split(store, get_dataset(store, "big"))
    for k in range(3):  # three copies of the data would be four times the store
        rows = tuple(int(r) for r in X.index[k * 300 : (k + 1) * 300])
        create_version(store, "big", Edit(drop_columns=(f"x{k}",), drop_rows=rows))
        with store.write() as con:
            con.execute("CHECKPOINT")
        assert store.path.stat().st_size < 2 * size


def test_include_test_is_recorded(penguins: Store) -> None:
    store = penguins
    Xt, _ = load_split(store, get_dataset(store, "penguins"), "test")
    row = int(Xt.index[0])
    with pytest.raises(InputError, match="test row"):
        create_version(store, "penguins", Edit(drop_rows=(row,)))
    v = create_version(store, "penguins", Edit(drop_rows=(row,), include_test=True))
    assert json.loads(v.recipe or "{}")["test_rows_edited"] == [row] and v.n_test == get_dataset(store, 1).n_test - 1


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (Edit(drop_rows=(99999,)), "no row 99999"),
        (Edit(drop_columns=("nope",)), "no column 'nope'"),
        (Edit(relabel=((0, "Dodo"),)), "no such class"),
        (Edit(drop_columns=("species",)), "cannot drop the target"),
        (Edit(keep_columns=("species",)), "drops every feature"),
        (Edit(), "nothing to change"),
    ],
)
def test_bad_edits_change_nothing(penguins: Store, edit: Edit, message: str) -> None:
    names = [d.name for d in list_datasets(penguins)]
    with pytest.raises(InputError, match=message):
        create_version(penguins, "penguins", edit)
    assert [d.name for d in list_datasets(penguins)] == names


def test_an_edit_that_starves_a_class_is_refused(penguins: Store) -> None:
    store = penguins
    X, y = load_split(store, get_dataset(store, "penguins"))
    chinstrap = tuple(int(r) for r in y.index[y == "Chinstrap"][:-4])
    with pytest.raises(InputError, match="class 'Chinstrap' with 4 development rows, fewer than the 5 folds"):
        create_version(store, "penguins", Edit(drop_rows=chinstrap))
    assert len(list_datasets(store)) == 1


def test_editing_a_missing_version_and_relabeling_regression(store: Store, regression_csv: Path) -> None:
    with pytest.raises(NotFoundError):
        create_version(store, "regression@7", Edit(drop_rows=(1,)))
    import_dataset(store, regression_csv, "y")
    X, y = load_split(store, get_dataset(store, "regression"))
    row = int(X.index[0])
    with pytest.raises(InputError, match="is a number"):
        create_version(store, "regression", Edit(relabel=((row, "big"),)))
    v = create_version(store, "regression", Edit(relabel=((row, "2.5"),)))
    assert load_split(store, v)[1].loc[row] == 2.5


def test_quality_findings_carry_the_edit_that_fixes_them(store: Store, tmp_path: Path) -> None:
    from core.analysis.findings import finding_to_dict
    from core.analysis.quality import check_quality
    from core.data.versions import edit_from_args

    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame({"a": rng.normal(size=n).round(3), "b": rng.normal(size=n).round(3), "const": 1.0})
    frame["y"] = np.where(frame["a"] + rng.normal(scale=0.5, size=n) > 0, "p", "q")
    frame = pd.concat([frame, frame.iloc[:12]], ignore_index=True)  # 12 duplicates
    flip = {"p": "q", "q": "p"}
    frame.loc[len(frame)] = [frame.a[20], frame.b[20], 1.0, flip[frame.y[20]]]  # a tie: no label to trust
    frame.loc[len(frame)] = [frame.a[30], frame.b[30], 1.0, frame.y[30]]
    frame.loc[len(frame)] = [frame.a[30], frame.b[30], 1.0, flip[frame.y[30]]]  # outvoted 2 to 1
    import_dataset(store, write_csv(tmp_path / "q.csv", frame), "y")
    findings = {f.kind: f for f in check_quality(store, "q", mislabeled=False)}
    assert findings["constant"].edit == ("--drop-columns", "const")
    assert finding_to_dict(findings["constant"])["edit"] == ["--drop-columns", "const"]
    assert findings["duplicates"].edit == ("--drop-duplicates",)
    conflict = findings["conflicting_labels"].edit
    _, test_rows = load_split(store, get_dataset(store, "q"), "test")
    tie = sorted({20, n + 12} - set(test_rows.index))
    if tie:
        assert conflict[:2] == ("--drop-rows", ",".join(map(str, tie)))
    if n + 14 not in test_rows.index and len({30, n + 13} - set(test_rows.index)) > 1:
        assert conflict[-2:] == ("--relabel", f"{n + 14}={frame.y[30]}")
    for kind in ("constant", "duplicates", "conflicting_labels"):
        version = create_version(store, "q", edit_from_args(findings[kind].edit))
        after = {f.kind for f in check_quality(store, version.name, mislabeled=False)}
        assert kind not in after


def test_a_test_evaluation_of_a_version_that_edited_test_rows_warns(penguins: Store) -> None:
    from core.analysis.holdout import evaluate_on_test

    store = penguins
    Xt, _ = load_split(store, get_dataset(store, "penguins"), "test")
    create_version(store, "penguins", Edit(drop_columns=("year",)))
    edited = create_version(store, "penguins@2", Edit(drop_rows=(int(Xt.index[0]),), include_test=True))
    clean = create_version(store, "penguins", Edit(drop_columns=("sex",)))
    for dataset, warned in ((edited, True), (clean, False)):
        (run,) = run_specs(store, dataset.name, [("dummy", None)], folds=3)
        evaluation = evaluate_on_test(store, run)
        said = [w for w in evaluation.fit_warnings if w.startswith("1 row of the locked test set edited by")]
        assert bool(said) == warned


def test_a_version_that_drops_or_relabels_rows_profiles_its_own_rows(store: Store, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 120
    frame = pd.DataFrame({"a": rng.normal(size=n).round(3), "c": rng.choice(["u", "v"], size=n)})
    frame.loc[:9, "a"] = np.nan
    frame["y"] = np.where(rng.normal(size=n) > 0, "p", "q")
    import_dataset(store, write_csv(tmp_path / "m.csv", frame), "y")
    parent = get_dataset(store, "m")
    X, y = load_split(store, parent)
    missing = [int(r) for r in X.index[X["a"].isna()]]
    dev_row = int(X.index[X["a"].notna()][0])
    version = create_version(store, "m", Edit(drop_rows=tuple(missing), relabel=((dev_row, "q"),)))

    def column(info, name):  # type: ignore[no-untyped-def]
        return next(c for c in info.columns if c.name == name)

    before = get_dataset(store, "m")
    assert column(before, "a").n_missing == 10 and column(before, "a") == column(parent, "a")
    assert column(version, "a").n_missing == 10 - len(missing)
    kept = frame.drop(index=missing)
    assert column(version, "a").mean == pytest.approx(kept["a"].mean())
    labels = kept["y"].copy()
    labels.loc[dev_row] = "q"
    assert dict(column(version, "y").top_values) == labels.value_counts().to_dict()
    unchanged = create_version(store, "m", Edit(drop_columns=("c",)))
    assert column(unchanged, "a") == column(parent, "a")


def test_a_query_about_one_column_of_a_version_reads_only_that_column_of_its_parents(penguins: Store) -> None:
    """A wide dataset's version must not bind every parent column for a query about one (issue 11:
    a 500-column dataset pays ~20 ms per bound column set); the narrowed rows are the full ones'."""
    store = penguins
    X, _ = load_split(store, get_dataset(store, "penguins"))
    v2 = create_version(store, "penguins", Edit(drop_rows=(int(X.index[0]),)))
    v3 = create_version(store, v2.name, Edit(relabel=((int(X.index[1]), "Gentoo"),)))
    with store.read() as con:
        layout = data_layout(con, v3)
        target = layout.target_storage
        others = [c.storage for c in layout.columns if c.storage != target]
        narrow = layout.only([target])
        assert not any(f'"{s}"' in narrow for s in others), narrow
        full = con.execute(f"SELECT __row, __part, {target} FROM {layout.relation} ORDER BY __row").fetchall()
        assert con.execute(f"SELECT * FROM {narrow} ORDER BY __row").fetchall() == full
        assert len(full) == get_dataset(store, "penguins").n_rows - 1
        assert dict((r, y) for r, _, y in full)[int(X.index[1])] == "Gentoo"

"""Data-quality findings on constructed data: each planted problem is found, clean data is quiet."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from core.analysis.findings import SEVERITIES, finding_to_dict
from core.analysis.quality import check_quality
from core.data.frames import load_split
from core.data.importing import import_dataset
from core.store.datasets import data_layout, get_dataset
from tests.conftest import run_mlloop, write_csv

ALARMS = {"duplicates", "conflicting_labels", "leakage", "constant", "shift", "adversarial_validation"}


def _clean(n: int = 300, seed: int = 0) -> pd.DataFrame:
    X, y = make_classification(
        n_samples=n, n_features=8, n_informative=4, n_redundant=0, shuffle=True, random_state=seed
    )
    frame = pd.DataFrame(X.round(5), columns=[f"x{i}" for i in range(X.shape[1])])
    frame["label"] = np.where(y == 1, "yes", "no")
    return frame


def _kinds(findings) -> dict[str, list]:
    out: dict[str, list] = {}
    for f in findings:
        out.setdefault(f.kind, []).append(f)
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_clean_data_raises_no_alarm(store, tmp_path, seed):
    import_dataset(store, write_csv(tmp_path / f"clean{seed}.csv", _clean(seed=seed)), "label", seed=seed)
    findings = check_quality(store, f"clean{seed}", mislabeled=False)
    assert not ALARMS & {f.kind for f in findings}, [f.message for f in findings]


def test_planted_problems_are_each_found(store, tmp_path):
    frame = _clean()
    rng = np.random.default_rng(0)
    frame["const"] = 1.0
    frame["leak"] = np.where(frame["label"] == "yes", 1.0, 0.0) * 5 + rng.normal(scale=0.1, size=len(frame))
    frame["row_id"] = [f"id-{i}" for i in range(len(frame))]
    frame["mostly_na"] = np.where(rng.random(len(frame)) < 0.6, np.nan, 1.0 + rng.random(len(frame)))
    base = frame.drop(columns="row_id")
    # Three exact copies of rows 0-2, and two rows sharing row 3's features with the other label.
    copies = base.iloc[[0, 1, 2]]
    conflict = base.iloc[[3, 3]].copy()
    conflict["label"] = np.where(base.iloc[3]["label"] == "yes", "no", "yes")
    planted = pd.concat([base, copies, conflict], ignore_index=True)
    planted["row_id"] = [f"id-{i}" for i in range(len(planted))]
    # --use: an import ignores an identifier column by default (core.data.roles); the check must find it
    import_dataset(store, write_csv(tmp_path / "planted.csv", planted), "label", use="row_id")
    kinds = _kinds(check_quality(store, "planted", mislabeled=False))

    assert [f.columns for f in kinds["constant"]] == [("const",)]
    assert ("leak",) in [f.columns for f in kinds["leakage"]] and len(kinds["leakage"]) == 1
    assert kinds["leakage"][0].severity == "high" and kinds["leakage"][0].value >= 0.98
    assert [f.columns for f in kinds["identifier"]] == [("row_id",)]
    assert any(f.columns == ("mostly_na",) and f.severity == "high" for f in kinds["missing"])
    dup = kinds["duplicates"][0]
    assert dup.n_rows >= 6 and {0, 1, 2, 300, 301, 302} <= set(dup.rows)
    conflict_rows = set(kinds["conflicting_labels"][0].rows)
    assert {3, 303, 304} <= conflict_rows
    assert "shift" not in kinds


def test_shifted_column_is_found(store, tmp_path):
    frame = _clean(n=400)
    info = import_dataset(store, write_csv(tmp_path / "first.csv", frame), "label")
    X_test, _ = load_split(store, info, "test")
    # The split depends only on the labels and the seed: shift one column in exactly those rows.
    shifted = frame.copy()
    shifted.loc[X_test.index, "x5"] += 2.0
    info2 = import_dataset(store, write_csv(tmp_path / "shifted.csv", shifted), "label")
    assert list(load_split(store, info2, "test")[0].index) == list(X_test.index)
    kinds = _kinds(check_quality(store, "shifted", mislabeled=False))
    assert [f.columns for f in kinds["shift"]] == [("x5",)]
    adv = kinds["adversarial_validation"][0]
    assert adv.value > 0.6 and adv.columns[0] == "x5"


def test_flipped_labels_top_the_mislabeled_list(store, tmp_path):
    rng = np.random.default_rng(3)
    n = 300
    X = rng.normal(size=(n, 3))
    y = np.where(X[:, 0] + X[:, 1] > 0, "a", "b")
    margin = np.abs(X[:, 0] + X[:, 1])
    flip = rng.choice(np.where(margin > 1.0)[0], 8, replace=False)  # clearly on one side
    y[flip] = np.where(y[flip] == "a", "b", "a")
    frame = pd.DataFrame(X.round(5), columns=["p", "q", "r"])
    frame["y"] = y
    info = import_dataset(store, write_csv(tmp_path / "flipped.csv", frame), "y")
    dev_rows = set(load_split(store, info, "dev")[0].index)
    flipped_dev = {int(i) for i in flip if i in dev_rows}
    assert len(flipped_dev) >= 4
    found = _kinds(check_quality(store, "flipped"))["mislabeled"][0]
    top = set(found.rows[: len(flipped_dev) + 2])
    assert len(top & flipped_dev) >= 0.75 * len(flipped_dev)
    assert list(found.scores) == sorted(found.scores) and found.scores[0] < 0.2


def test_imbalance_and_high_cardinality(store, tmp_path):
    rng = np.random.default_rng(1)
    n = 400
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n).round(4),
            "city": [f"c{i}" for i in rng.integers(0, 120, size=n)],
            "y": np.where(rng.random(n) < 0.05, "rare", "common"),
        }
    )
    import_dataset(store, write_csv(tmp_path / "imb.csv", frame), "y")
    kinds = _kinds(check_quality(store, "imb", mislabeled=False))
    assert kinds["class_imbalance"][0].severity in ("medium", "high")
    assert kinds["high_cardinality"][0].columns == ("city",)


def test_findings_are_sorted_and_serialise(store, tmp_path, regression_csv):
    frame = pd.read_csv(regression_csv)
    frame["const"] = "same"
    frame["leak"] = frame["y"] * 2 + 1
    import_dataset(store, write_csv(tmp_path / "reg.csv", frame), "y")
    findings = check_quality(store, "reg")
    ranks = [SEVERITIES.index(f.severity) for f in findings]
    assert ranks == sorted(ranks)
    assert {"constant", "leakage"} <= {f.kind for f in findings}
    dicts = [finding_to_dict(f) for f in findings]
    json.dumps(dicts, allow_nan=False)
    keys = ["kind", "severity", "columns", "rows", "n_rows", "message", "action", "value", "scores", "reasons"]
    keys.append("edit")
    assert list(dicts[0]) == keys
    assert {f["kind"]: f["edit"] for f in dicts}["constant"] == ["--drop-columns", "const"]
    assert get_dataset(store, "reg").task == "regression"


def test_cli_quality(tmp_path):
    db = tmp_path / "s.duckdb"
    frame = _clean(n=200)
    frame["const"] = 0
    csv = write_csv(tmp_path / "cli.csv", frame)
    assert run_mlloop("import", str(csv), "--target", "label", store=db).returncode == 0
    r = run_mlloop("quality", "cli", store=db)
    assert r.returncode == 0, r.stderr
    assert "constant" in r.stdout and "const" in r.stdout
    r = run_mlloop("quality", "cli", "--json", store=db)
    data = json.loads(r.stdout)
    assert any(d["kind"] == "constant" and d["columns"] == ["const"] for d in data)
    r = run_mlloop("quality", "nope", store=db)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "nope" in r.stderr


def test_stop_ends_the_check_before_its_costly_steps(store, tmp_path):
    from core.errors import RunCancelled
    from core.stopping import StopToken

    import_dataset(store, write_csv(tmp_path / "clean.csv", _clean()), "label")
    asked = []
    with pytest.raises(RunCancelled):
        check_quality(store, "clean", stop=StopToken(lambda: asked.append(1) or True))
    assert asked == [1]  # asked once, before the leakage fits
    assert check_quality(store, "clean", mislabeled=False, stop=StopToken()) == check_quality(
        store, "clean", mislabeled=False
    )


def test_stop_is_also_asked_between_the_shift_tests_columns(store, tmp_path):
    from core.errors import RunCancelled
    from core.stopping import StopToken

    import_dataset(store, write_csv(tmp_path / "clean.csv", _clean()), "label")
    n_features = len(load_split(store, get_dataset(store, "clean"), "dev")[0].columns)
    asked = []
    check_quality(store, "clean", stop=StopToken(lambda: asked.append(1) and False))
    assert len(asked) == 3 + n_features  # before leakage, shift and mislabeled rows; each shift column
    asked.clear()
    with pytest.raises(RunCancelled):  # stopped at the shift test's second column
        check_quality(store, "clean", stop=StopToken(lambda: asked.append(1) or len(asked) >= 4))
    assert len(asked) == 4


def _correct_labels(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Like ``_clean``, but no label is flipped: every label is the class its row was drawn from."""
    X, y = make_classification(n_samples=n, n_features=8, n_informative=4, n_redundant=0, flip_y=0.0, random_state=seed)
    frame = pd.DataFrame(X.round(5), columns=[f"x{i}" for i in range(X.shape[1])])
    frame["label"] = np.where(y == 1, "yes", "no")
    return frame


@pytest.mark.parametrize("seed", [0, 1])
def test_on_clean_labels_mislabeled_rows_are_at_most_the_linear_models_errors(store, tmp_path, seed, regression_csv):
    # README: where a linear model cannot separate the classes (two clusters per class here), the
    # rows it confidently puts in another class are flagged, all of them rows it gets wrong out
    # of fold, and the message gives that error count beside the estimate.
    from core.analysis.label_issues import out_of_fold_proba

    info = import_dataset(
        store, write_csv(tmp_path / f"right{seed}.csv", _correct_labels(seed=seed)), "label", seed=seed
    )
    findings = check_quality(store, f"right{seed}")
    assert {f.kind for f in findings} <= {"mislabeled"}, [f.message for f in findings]
    X, y = load_split(store, info, "dev")
    proba, labels, _ = out_of_fold_proba(X, y, info, 1)
    wrong = set(X.index[proba.argmax(axis=1) != labels])
    for found in findings:
        assert found.severity == "low"
        assert set(found.rows) <= wrong and found.n_rows <= len(wrong)
        assert f"the model's own out-of-fold errors: {len(wrong)} " in found.message
        assert list(found.scores) == sorted(found.scores) and max(found.scores) < 0.5  # binary: wrong side
    # ... and nothing at all without that check, or on a regression target
    assert check_quality(store, f"right{seed}", mislabeled=False) == ()
    import_dataset(store, regression_csv, "y")
    assert check_quality(store, "regression") == ()


def test_readme_lists_exactly_the_finding_kinds_quality_gives():
    import re

    from core.analysis.findings import KINDS
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text()
    listed = re.search(r"Data-quality findings \(`quality --json`.*?`kind` \((.*?)\)", readme, flags=re.S)
    assert listed is not None
    assert sorted(re.findall(r"`(\w+)`", listed.group(1))) == sorted(KINDS)


def _flip_test_labels_and_shift(store, info, column: str) -> None:
    """In the store, give every test row the other label and move ``column`` by +2 in the test rows."""
    with store.write() as con:
        layout = data_layout(con, info)  # where the rows are: their table, the filter picking them there
        target = next(c for c in layout.columns if c.storage == layout.target_storage)
        col = next(c for c in layout.columns if c.name == column)
        con.execute(f"""UPDATE "{layout.table}" SET "{target.storage}" = CASE WHEN {target.expr} = 'yes' THEN 'no'
                        ELSE 'yes' END, "{col.storage}" = {col.expr} + 2
                        WHERE __part = 'test' AND {layout.row_filter}""")


def test_quality_fits_on_development_labels_only_and_scores_nothing_on_the_test_rows(store, tmp_path):
    # README (the locked test set): quality reads the test rows' features for the shift check and
    # their labels only to count (duplicates, conflicts, balance); its models never see test labels.
    frame = _clean()
    rng = np.random.default_rng(0)
    frame["leak"] = np.where(frame["label"] == "yes", 1.0, 0.0) * 3 + rng.normal(scale=0.5, size=len(frame))
    wrong = rng.choice(len(frame), 4, replace=False)  # labels the leak contradicts: mislabeled rows
    frame.loc[wrong, "label"] = np.where(frame.loc[wrong, "label"] == "yes", "no", "yes")
    info = import_dataset(store, write_csv(tmp_path / "locked.csv", frame), "label")
    model_kinds = {"leakage", "mislabeled"}
    before = [f for f in check_quality(store, "locked") if f.kind in model_kinds]
    assert {f.kind for f in before} == model_kinds  # something to compare
    dev_rows = set(load_split(store, info, "dev")[0].index)
    assert all(set(f.rows) <= dev_rows for f in before)

    _flip_test_labels_and_shift(store, info, "x5")
    after = check_quality(store, "locked")
    assert [f for f in after if f.kind in model_kinds] == before  # flipped test labels change no model finding
    assert ("x5",) in [f.columns for f in after if f.kind == "shift"]  # ... while the test features are read
    with store.read() as con:
        assert con.execute("SELECT count(*) FROM test_evaluations").fetchone()[0] == 0


def test_model_checks_on_a_large_dataset_use_a_stated_seeded_sample(store, tmp_path):
    """Leakage, shift and mislabeled rows fit models: above ``model_rows`` rows of a part they use a
    seeded random sample, said in a ``sampled`` info finding, and list only rows of that sample; the
    structural checks still read every row (a duplicate outside any sample is found)."""
    rng = np.random.default_rng(4)
    n = 600
    X = rng.normal(size=(n, 3))
    y = np.where(X[:, 0] + X[:, 1] > 0, "a", "b")
    flip = rng.choice(np.where(np.abs(X[:, 0] + X[:, 1]) > 1.0)[0], 20, replace=False)
    y[flip] = np.where(y[flip] == "a", "b", "a")
    frame = pd.DataFrame(X.round(5), columns=["p", "q", "r"]).assign(y=y)
    frame.iloc[599] = frame.iloc[598]  # one duplicate pair at the end of the file
    info = import_dataset(store, write_csv(tmp_path / "big.csv", frame), "y")

    whole = _kinds(check_quality(store, "big"))
    assert "sampled" not in whole  # 600 rows: under the default, every row
    first, again = (check_quality(store, "big", model_rows=100) for _ in range(2))
    assert first == again  # seeded: the same sample and findings each time
    kinds = _kinds(first)
    (sampled,) = kinds["sampled"]
    assert sampled.severity == "info" and sampled.n_rows == 100
    assert f"100 of the {info.n_dev:,} development rows and 100 of the {info.n_test:,} test rows" in sampled.message
    sample = set(_sample_of(store, info, 100))
    assert set(kinds["mislabeled"][0].rows) <= sample and len(kinds["mislabeled"][0].rows) < len(
        whole["mislabeled"][0].rows
    )
    assert kinds["duplicates"][0].n_rows == whole["duplicates"][0].n_rows >= 2


def _sample_of(store, info, n):
    """The sample's rule: ``n`` positions among the development rows in file order, drawn with the split seed."""
    X, _ = load_split(store, info, "dev")
    return X.index[np.sort(np.random.default_rng(info.split_seed).choice(len(X), size=n, replace=False))]

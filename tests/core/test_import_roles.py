"""Import fixes found with R-written CSV files (issue 9 part 6): a quoted value is data, never missing;
an identifier column (R's unnamed row-name column) is not a feature by default; --na, --ignore, --use."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import numpy as np
import pytest

from core.analysis.quality import check_quality
from core.analysis.trust import score_warnings
from core.data.frames import load_split, read_rows
from core.data.importing import import_dataset
from core.errors import InputError
from core.modeling.evaluation import run_baselines
from core.store import Store
from core.store.datasets import get_dataset, list_datasets
from core.store.migrations import MIGRATIONS
from tests.conftest import mlloop_main, run_mlloop

N = 80


def write_r_csv(path: Path, n: int = N) -> Path:
    """As R's ``write.csv(df)`` writes it: an unnamed first column of quoted row names, text quoted,
    numbers bare, NA bare. The label's classes are the strings "None" and "NA"; the rows are sorted
    by it, so the row names predict it; 2 rows have no label (a bare NA)."""
    rng = np.random.default_rng(5)
    labels = ["NA"] * (n // 2) + ["None"] * (n - n // 2)
    lines = ['"","x","island","label"']
    for i, label in enumerate(labels):
        x = "NA" if i in (3, 50) else f"{rng.normal(1.0 if label == 'NA' else -1.0):.3f}"
        island = "NA" if i == 7 else f'"{rng.choice(["Biscoe", "Dream", "Torgersen"])}"'
        shown = "NA" if i in (10, 60) else f'"{label}"'
        lines.append(f'"{i + 1}",{x},{island},{shown}')
    path.write_text("\n".join(lines) + "\n")
    return path


def _roles(info) -> dict[str, str]:
    return {c.name: c.role for c in info.columns}


def _glm_terms(store: Store, dataset: int) -> list[str]:
    from core.store.runs import get_run

    (run_id,) = run_baselines(store, dataset, "glm", folds=3, jobs=1)
    glm = get_run(store, run_id).glm
    assert glm is not None
    return [c.term for c in glm.coefficients]


def test_quoted_none_and_na_are_classes_and_bare_na_is_missing(store, tmp_path):
    info = import_dataset(store, write_r_csv(tmp_path / "birds.csv"), "label")
    assert info.classes == ("NA", "None")
    assert info.n_unlabeled == 2  # the bare NA labels
    cols = {c.name: c for c in info.columns}
    assert cols["x"].kind == "numeric" and cols["x"].n_missing == 2
    assert cols["island"].n_missing == 1 and "NA" not in dict(cols["island"].top_values)


def test_the_row_name_column_is_ignored_with_a_note_and_no_model_sees_it(store, tmp_path):
    info = import_dataset(store, write_r_csv(tmp_path / "birds.csv"), "label")
    assert _roles(info) == {"column_1": "ignored", "x": "feature", "island": "feature", "label": "target"}
    assert _roles(get_dataset(store, info.id)) == _roles(info)
    assert any("'column_1'" in n and "identifier" in n and "--use column_1" in n for n in info.notes)
    assert info.feature_names == ("x", "island")
    X, _ = load_split(store, info)
    assert list(X.columns) == ["x", "island"]
    terms = _glm_terms(store, info.id)
    assert "x" in terms and not any("column_1" in t for t in terms)
    # the rows still show every column
    names, rows = read_rows(store, info, limit=2)
    assert names == ("column_1", "x", "island", "label") and rows[0][2] == 1
    with store.read() as con:
        assert "column_1" in [d[0] for d in con.execute(f"SELECT * FROM rows_{info.id}_v LIMIT 1").description]


def test_use_brings_an_identifier_back_and_ignore_drops_another_column(store, tmp_path):
    path = write_r_csv(tmp_path / "birds.csv")
    used = import_dataset(store, path, "label", name="used", use="column_1")
    assert _roles(used)["column_1"] == "feature"
    assert not any("identifier" in n for n in used.notes)
    assert "column_1" in _glm_terms(store, used.id)

    ignored = import_dataset(store, path, "label", name="ignored", ignore=["island"])
    assert _roles(ignored) == {"column_1": "ignored", "x": "feature", "island": "ignored", "label": "target"}
    assert list(load_split(store, ignored)[0].columns) == ["x"]


def test_a_file_of_nothing_but_unique_columns_keeps_them_as_features(store, tmp_path):
    path = tmp_path / "names.csv"
    path.write_text("name,label\n" + "".join(f"n{i},{'ab'[i % 2]}\n" for i in range(40)))
    info = import_dataset(store, path, "label")
    assert _roles(info) == {"name": "feature", "label": "target"}
    assert not any("identifier" in n for n in info.notes)


def test_quality_and_trust_skip_an_ignored_identifier_but_find_a_used_one(store, tmp_path):
    path = write_r_csv(tmp_path / "birds.csv")
    default = import_dataset(store, path, "label", name="default")
    findings = check_quality(store, default, mislabeled=False)
    assert not [f for f in findings if f.kind == "identifier"]
    assert not [w for w in score_warnings(findings) if "column_1" in w.message]
    used = import_dataset(store, path, "label", name="used", use="column_1")
    findings = check_quality(store, used, mislabeled=False)
    assert [f.columns for f in findings if f.kind == "identifier"] == [("column_1",)]
    # sorted by the label, the row names also leak it: the warning says so
    assert any("column_1" in (w.fix or "") for w in score_warnings(findings))


def test_na_replaces_the_missing_markers_but_a_quoted_value_stays_data(store, tmp_path):
    path = write_r_csv(tmp_path / "birds.csv")
    # NA and None are missing only unquoted: the quoted classes stay.
    same = import_dataset(store, path, "label", name="same", na="NA,None")
    assert same.classes == ("NA", "None") and same.n_unlabeled == 2
    # With no marker but the empty field, a bare NA is a value: the 2 labels join the class "NA",
    # and the x column, holding the text NA, is text.
    plain = import_dataset(store, path, "label", name="plain", na="")
    assert plain.classes == ("NA", "None") and plain.n_unlabeled == 0
    cols = {c.name: c for c in plain.columns}
    assert cols["x"].sql_type == "VARCHAR" and cols["x"].n_missing == 0


def test_a_quoted_empty_field_is_missing_and_keeps_a_number_column_numeric(store, tmp_path):
    lines = ['"a","b","y"'] + [
        f'"{i % 7}","{"" if i % 10 == 0 else i * 0.5}","{"u" if i % 2 else "v"}"' for i in range(40)
    ]
    path = tmp_path / "quoted_all.csv"
    path.write_text("\n".join(lines) + "\n")
    info = import_dataset(store, path, "y")
    b = next(c for c in info.columns if c.name == "b")
    assert b.kind == "numeric" and b.n_missing == 4


def test_bad_role_options_are_one_line_and_store_nothing(store, tmp_path):
    path = write_r_csv(tmp_path / "birds.csv")
    with pytest.raises(InputError, match="--ignore: no column 'nope'"):
        import_dataset(store, path, "label", ignore="x,nope")
    with pytest.raises(InputError, match="is the target; it cannot be ignored"):
        import_dataset(store, path, "label", ignore="label")
    with pytest.raises(InputError, match="both --ignore and --use"):
        import_dataset(store, path, "label", ignore="x", use="x")
    with pytest.raises(InputError, match="no feature column is left"):
        import_dataset(store, path, "label", ignore="column_1,x,island")
    assert list_datasets(store) == []


def test_the_cli_shows_roles_and_refuses_bad_options(store, tmp_path, capsys):
    path = write_r_csv(tmp_path / "birds.csv")
    for args, message in [
        (["--ignore", "nope"], "--ignore: no column 'nope'"),
        (["--use", "nope"], "--use: no column 'nope'"),
        (["--ignore", "label"], "cannot be ignored"),
        (["--na", 'N"A'], "cannot hold a quote"),
    ]:
        r = run_mlloop("import", str(path), "--target", "label", *args, store=store.path)
        assert r.returncode == 2, (args, r.stderr)
        assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert list_datasets(store) == []

    assert mlloop_main(store, "import", str(path), "--target", "label", "--ignore", "island", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert {c["name"]: c["role"] for c in shown["columns"]} == {
        "column_1": "ignored",
        "x": "feature",
        "island": "ignored",
        "label": "target",
    }
    assert mlloop_main(store, "datasets", "birds") == 0
    out = capsys.readouterr().out
    assert "role" in out and "ignored" in out and "--use column_1" in out


def test_na_on_a_parquet_file_is_refused(store, tmp_path):
    import pandas as pd

    path = tmp_path / "t.parquet"
    pd.DataFrame({"a": range(20), "y": ["p", "q"] * 10}).to_parquet(path)
    with pytest.raises(InputError, match="--na applies to CSV files only"):
        import_dataset(store, path, "y", na="NA")


def undo_steps_from(con: duckdb.DuckDBPyConnection, step: int) -> None:
    """Take out what migration steps ``step`` and later added (their tables and columns), so the
    store is as one written before them and opening it runs them all again."""
    for sql in reversed(MIGRATIONS[step:]):
        for table in re.findall(r"CREATE TABLE (\w+)", sql):
            con.execute(f"DROP TABLE {table}")
        for table, column in re.findall(r"ALTER TABLE (\w+) ADD COLUMN (\w+)", sql):
            con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")


def test_a_store_from_before_roles_keeps_every_column_a_feature(store, tmp_path):
    """The migration step gives stored columns role 'feature' and the target 'target': an identifier
    a past run used stays a feature, so the run stays reproducible."""
    info = import_dataset(store, write_r_csv(tmp_path / "birds.csv"), "label", use="column_1")
    step = next(i for i, m in enumerate(MIGRATIONS) if "ADD COLUMN role" in m)
    with duckdb.connect(str(store.path)) as con:  # as the store was before the step
        undo_steps_from(con, step)
        con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(step)])
    reopened = Store(store.path)
    assert _roles(get_dataset(reopened, info.id)) == {
        "column_1": "feature",
        "x": "feature",
        "island": "feature",
        "label": "target",
    }
    assert list(load_split(reopened, info)[0].columns) == ["column_1", "x", "island"]

"""Dataset import, profiling, hold-out split and loading, against real files and a real store."""

from __future__ import annotations

import csv
import gzip
import hashlib
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import core.data.encodings as encodings_mod
import core.data.reading as reading_mod
from core.data.frames import load_split
from core.data.importing import import_dataset
from core.data.profile import profile_unpivot, profile_wide
from core.data.reading import peek_columns
from core.data.split import holdout_positions
from core.errors import InputError, NotFoundError
from core.store import Store
from core.store.datasets import data_layout, get_dataset, list_datasets
from tests.badfiles import BadInput, make_bad_inputs

# ----------------------------------------------------------------------------- helpers


def write_csv(
    path: Path, header: list[str], rows: list[list[object]], delimiter: str = ",", encoding: str = "utf-8"
) -> Path:
    with open(path, "w", newline="", encoding=encoding) as fh:
        w = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return path


def snapshot(store: Store) -> dict:
    """Every table with its row count, plus the dataset rows themselves."""
    with store.read() as con:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY table_name").fetchall()]
        counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        rows = con.execute("SELECT id, name, n_rows FROM datasets ORDER BY id").fetchall()
    return {"tables": tables, "counts": counts, "datasets": rows}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "store.duckdb")
    s.schema_version()  # create the schema, so "unchanged" compares like with like
    return s


def simple_rows(n: int) -> list[list[object]]:
    return [[i, i * 0.5, "yes" if i % 3 else "no"] for i in range(n)]


# ----------------------------------------------------------------------------- column names


ODD_HEADER = [
    "first name",
    'quote"d',
    "it's",
    "café ünï 名前",
    "select",
    "a",
    "A",
    "a",
    "",
    "[bold]x",
    "[@click=app.quit]",
    "label",
]
ODD_EXPECTED = [
    "first name",
    'quote"d',
    "it's",
    "café ünï 名前",
    "select",
    "a",
    "A",
    "a (2)",
    "column_9",
    "[bold]x",
    "[@click=app.quit]",
    "label",
]


def test_odd_column_names_round_trip(store: Store, tmp_path: Path) -> None:
    rows = [
        [
            f"n{i}",
            i,
            f"v'{i}\"",
            i % 4,
            i * 2,
            i * 3,
            i * 4,
            i * 5,
            i * 6,
            ["red", "green"][i % 2],
            i * 7,
            "pos" if i % 2 else "neg",
        ]
        for i in range(30)
    ]
    path = write_csv(tmp_path / "odd names.csv", ODD_HEADER, rows)
    # --use: several columns are unique per row, which an import ignores as identifiers by default
    info = import_dataset(store, path, "label", use=ODD_EXPECTED[:-1])
    assert info.name == "odd names"
    assert [c.name for c in info.columns] == ODD_EXPECTED
    assert any("duplicate column name 'a'" in n and "'a (2)'" in n for n in info.notes)
    assert any("empty header" in n and "column_9" in n for n in info.notes)

    again = get_dataset(store, "odd names")
    assert [c.name for c in again.columns] == ODD_EXPECTED
    assert again.feature_names == tuple(ODD_EXPECTED[:-1])

    X_dev, y_dev = load_split(store, again, "dev")
    X_test, _ = load_split(store, again, "test")
    assert list(X_dev.columns) == ODD_EXPECTED[:-1]
    X = pd.concat([X_dev, X_test]).sort_index()
    assert list(X['quote"d']) == [float(i) for i in range(30)]
    assert list(X["it's"]) == [f"v'{i}\"" for i in range(30)]
    assert list(X["a (2)"]) == [float(i * 5) for i in range(30)]
    assert list(X["A"]) == [float(i * 4) for i in range(30)]
    assert list(X["[bold]x"]) == [["red", "green"][i % 2] for i in range(30)]
    assert y_dev.name == "label"


# what the import dialog suggests must be exactly what the import stores, for every kind of file
PEEK_FILES = {
    "odd header": lambda p: write_csv(p / "odd.csv", ODD_HEADER, [[i] * 11 + [i % 2] for i in range(20)]),
    "latin-1": lambda p: write_csv(
        p / "l.csv", ["café", "ü", "y"], [[i, i, i % 2] for i in range(20)], encoding="latin-1"
    ),
    "cp1252": lambda p: write_csv(
        p / "w.csv", ["€", "x", "y"], [[i, f"{i} €", i % 2] for i in range(20)], encoding="cp1252"
    ),
    "utf-8 bom": lambda p: write_csv(p / "b.csv", ["id", "x", "y"], simple_rows(20), encoding="utf-8-sig"),
    "utf-16 bom": lambda p: write_csv(p / "u.tsv", ["id", "né", "y"], simple_rows(20), "\t", "utf-16"),
    "utf-32": lambda p: write_csv(p / "u32.csv", ["id", "x", "y"], simple_rows(20), ";", "utf-32"),
    "gzip": lambda p: (
        (p / "g.csv.gz").write_bytes(
            gzip.compress(b"m|n|y\n" + b"".join(f"{i}|{i}|{i % 2}\n".encode() for i in range(20)))
        )
        and p / "g.csv.gz"
    ),
    "quoted header": lambda p: write_csv(
        p / "q.csv", ["a,b", 'say "hi"', "multi\nline", "y"], [[i, i, i, i % 2] for i in range(20)]
    ),
}


@pytest.mark.parametrize("case", PEEK_FILES)
def test_peek_columns_names_columns_as_import_does(store: Store, tmp_path: Path, case: str) -> None:
    path = PEEK_FILES[case](tmp_path)
    names = peek_columns(path)
    assert names == [c.name for c in import_dataset(store, path, names[-1]).columns]


def test_peek_columns_names_parquet_columns_as_import_does(store: Store, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "cases.parquet"
    pq.write_table(pa.table({"a": range(20), "A": range(20), "": range(20), "y": [i % 2 for i in range(20)]}), path)
    assert peek_columns(path) == ["a", "A", "column_3", "y"]
    assert [c.name for c in import_dataset(store, path, "y").columns] == ["a", "A", "column_3", "y"]


def test_peek_columns_handles_csv_tsv_gzip_bom_and_parquet(tmp_path: Path) -> None:
    import duckdb

    (tmp_path / "a.csv").write_bytes('\ufeff"x, 1",[bold]y,z\n1,2,3\n'.encode())
    assert peek_columns(tmp_path / "a.csv") == ["x, 1", "[bold]y", "z"]
    (tmp_path / "b.tsv").write_text("p\tq\n1\t2\n", encoding="utf-16")
    assert peek_columns(tmp_path / "b.tsv") == ["p", "q"]
    with gzip.open(tmp_path / "c.csv.gz", "wt") as fh:
        fh.write("m;n;o\n1;2;3\n")
    assert peek_columns(tmp_path / "c.csv.gz") == ["m", "n", "o"]
    duckdb.sql(f"COPY (SELECT 1 AS u, 'v' AS \"w w\") TO '{tmp_path / 'd.parquet'}' (FORMAT parquet)")
    assert peek_columns(tmp_path / "d.parquet") == ["u", "w w"]


def test_peek_columns_reads_only_the_head(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fault 3 MB down (a NUL byte) fails the import; peek never gets there, nor scans the file."""
    path = tmp_path / "long.csv"
    with open(path, "w") as fh:
        fh.write("id,naïve,y\n")
        fh.writelines(f"{i},{'x' * 30},{i % 2}\n" for i in range(100_000))
        fh.write("1,\x00,0\n")
    with pytest.raises(InputError, match="NUL byte"):
        import_dataset(store, path, "y")

    def no_whole_file_scan(*args, **kwargs):
        raise AssertionError("peek_columns scanned the whole file")

    monkeypatch.setattr(encodings_mod, "scan_bytes", no_whole_file_scan)
    assert peek_columns(path) == ["id", "naïve", "y"]
    assert peek_columns(path, delimiter=";") == ["id,naïve,y"]
    assert peek_columns(path, encoding="latin-1") == ["id", "naÃ¯ve", "y"]


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda p: p / "missing.csv", "file not found"),
        (lambda p: (p / "x.xlsx").write_bytes(b"PK\x03\x04") and p / "x.xlsx", "unsupported file type"),
        (lambda p: (p / "img.csv").write_bytes(bytes.fromhex("89504e470d0a1a0a")) and p / "img.csv", "PNG image"),
        (lambda p: (p / "blank.csv").write_text("\n\n") and p / "blank.csv", "no header row"),
        (lambda p: (p / "bad.parquet").write_text("a,b\n1,2\n") and p / "bad.parquet", "not a Parquet file"),
        (lambda p: (p / "wide.csv").write_text("a," * 600_000) and p / "wide.csv", "first megabyte"),
    ],
)
def test_peek_columns_errors_are_one_line_input_errors(tmp_path: Path, make, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment) as caught:
        peek_columns(make(tmp_path))
    assert "\n" not in str(caught.value)


# ----------------------------------------------------------------------------- dialects and encodings


@pytest.mark.parametrize(("delimiter", "suffix"), [(";", ".csv"), ("\t", ".tsv"), ("\t", ".txt"), ("|", ".csv")])
def test_delimiters_detected(store: Store, tmp_path: Path, delimiter: str, suffix: str) -> None:
    rows = [[i, f"{i},5", f"note, with; commas|{i}", "a" if i % 2 else "b"] for i in range(20)]
    path = write_csv(tmp_path / f"d{suffix}", ["id", "amount", "note", "y"], rows, delimiter=delimiter)
    info = import_dataset(store, path, "y", use="note")
    assert [c.name for c in info.columns] == ["id", "amount", "note", "y"]
    # "0,5" is a number where ';' separates the fields (a decimal comma), text elsewhere
    assert info.columns[1].sql_type == ("DOUBLE" if delimiter == ";" else "VARCHAR")
    X, _ = load_split(store, info, "dev")
    X_test, _ = load_split(store, info, "test")
    notes = pd.concat([X, X_test]).sort_index()["note"]
    assert list(notes) == [f"note, with; commas|{i}" for i in range(20)]


def test_decimal_commas_as_r_and_pandas_write_them_are_numbers(store: Store, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"dose": rng.normal(size=40).round(6), "n": range(40), "y": ["a", "b"] * 20})
    frame["dose"] = frame["dose"].where(frame.index % 9 != 0)  # missing values written as NA
    # R's write.csv2: quoted header, row names and texts, numbers bare with a decimal comma, NA for missing
    r_style = tmp_path / "r.csv"
    lines = ['"";"dose";"n";"y"']
    for i, (dose, n, y) in enumerate(frame.itertuples(index=False), start=1):
        lines.append(f'"{i}";{"NA" if pd.isna(dose) else repr(dose).replace(".", ",")};{n};"{y}"')
    r_style.write_text("\n".join(lines) + "\n")
    pandas_style = tmp_path / "p.csv"
    frame.to_csv(pandas_style, sep=";", decimal=",", index=False)
    assert "\n-0,132105;1;b\n" in pandas_style.read_text()
    for path in (r_style, pandas_style):
        info = import_dataset(store, path, "y")
        dose = next(c for c in info.columns if c.name == "dose")
        assert dose.sql_type == "DOUBLE" and dose.n_missing == 5, path.name
        assert "numbers with a decimal comma (12,5) read as numbers: 'dose'" in info.notes
        X, _ = load_split(store, info, "dev")
        X_test, _ = load_split(store, info, "test")
        read = pd.concat([X, X_test])["dose"].sort_index().to_numpy()
        np.testing.assert_array_equal(read, frame["dose"].to_numpy())


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("a;b;y\n" + "".join(f"{i}.5;{i},5;{i % 2}\n" for i in range(20)), "both marks"),
        ("a,b,y\n" + "".join(f'{i},"{i},5",{i % 2}\n' for i in range(20)), "comma-separated"),
        ("a;b;y\n" + "".join(f"{i};x{i},5;{i % 2}\n" for i in range(20)), "not numbers"),
    ],
)
def test_comma_numbers_stay_text_where_the_comma_may_not_be_decimal(
    store: Store, tmp_path: Path, text: str, kind: str
) -> None:
    path = tmp_path / "c.csv"
    path.write_text(text)
    info = import_dataset(store, path, "y", use="b")
    assert info.columns[1].sql_type == "VARCHAR", kind
    assert not any("decimal comma" in n for n in info.notes)


def test_numbers_as_a_spreadsheet_shows_them_are_numbers(store: Store, tmp_path: Path) -> None:
    spend = [(-1) ** i * (i * 1234.5 + 0.25) for i in range(40)]
    shown = [f"${v:,.2f}" if v >= 0 else f"(${-v:,.2f})" for v in spend]  # accounting negatives
    rows = [[f"C{i}", shown[i], f"{i * 2.5}%", f"{i * 1000:,}", "yes" if i % 2 else "no"] for i in range(40)]
    info = import_dataset(store, write_csv(tmp_path / "sheet.csv", ["id", "spend", "rate", "count", "y"], rows), "y")
    assert [c.sql_type for c in info.columns[1:4]] == ["DOUBLE"] * 3
    assert "numbers written as a spreadsheet shows them ($1,234.50, 12%) read as numbers: 'spend', 'rate', 'count'" in (
        info.notes
    )
    X, _ = load_split(store, info, "dev")
    X_test, _ = load_split(store, info, "test")
    read = pd.concat([X, X_test]).sort_index()
    np.testing.assert_allclose(read["spend"], spend)
    np.testing.assert_allclose(read["rate"], [i * 2.5 for i in range(40)])
    np.testing.assert_array_equal(read["count"], [i * 1000 for i in range(40)])

    # where ';' separates the fields, the point groups digits and the comma is decimal
    eu = tmp_path / "eu.csv"
    eu.write_text("price;y\n" + "".join(f"{i // 1000}.{i % 1000:03d},50 €;{i % 2}\n" for i in range(1000, 1040)))
    info = import_dataset(store, eu, "y", name="eu")
    X, _ = load_split(store, info, "dev")
    assert info.columns[0].sql_type == "DOUBLE"
    assert "1.039,50 €" in eu.read_text() and set(X["price"]) <= {i + 0.5 for i in range(1000, 1040)}


def test_a_formatted_looking_column_with_other_text_far_down_stays_text(store: Store, tmp_path: Path) -> None:
    rows = [[i, f"${i:,}.00" if i != 1250 else "call back", i % 2] for i in range(1000, 1300)]
    info = import_dataset(store, write_csv(tmp_path / "late.csv", ["id", "amount", "y"], rows), "y", use="amount")
    assert info.columns[1].sql_type == "VARCHAR" and not any("spreadsheet" in n for n in info.notes)
    X, _ = load_split(store, info, "dev")
    X_test, _ = load_split(store, info, "test")
    assert "call back" in set(pd.concat([X, X_test])["amount"])  # nothing lost


def test_delimiter_override(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "semi.csv", ["a", "b", "y"], [[i, i, i % 2] for i in range(20)], delimiter=";")
    assert import_dataset(store, path, "y", delimiter=";").n_cols == 3
    with pytest.raises(InputError, match="only one column"):
        import_dataset(store, path, "y", delimiter="|", name="other")


def test_latin1_file_reads_cafe(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    write_csv(
        path, ["id", "place", "y"], [[i, "café" if i % 2 else "bar", i % 2] for i in range(20)], encoding="latin-1"
    )
    assert b"caf\xe9" in path.read_bytes()
    info = import_dataset(store, path, "y")
    assert info.encoding == "latin-1"
    assert any("Latin-1" in n for n in info.notes)
    X, _ = load_split(store, info, "dev")
    assert "café" in set(X["place"])
    assert get_dataset(store, info.id).columns[1].top_values[0][0] in ("bar", "café")


def test_cp1252_file_reads_euro(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "win.csv"
    write_csv(path, ["id", "price", "y"], [[i, f"voucher {i} €", i % 2] for i in range(20)], encoding="cp1252")
    info = import_dataset(store, path, "y")
    assert info.encoding == "cp1252"
    X, _ = load_split(store, info, "dev")
    assert all(v.endswith(" €") for v in X["price"])


def test_utf8_bom_first_column_name(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    write_csv(path, ["id", "x", "y"], simple_rows(20), encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    info = import_dataset(store, path, "y", use="id")  # an identifier: ignored unless used
    assert info.columns[0].name == "id"
    X, _ = load_split(store, info)
    assert list(X.columns) == ["id", "x"]


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be-bom"])
def test_utf16_with_bom(store: Store, tmp_path: Path, codec: str) -> None:
    text = "id,word,y\n" + "".join(f"{i},{'né' if i % 2 else 'über'},{i % 2}\n" for i in range(20))
    path = tmp_path / "u16.csv"
    path.write_bytes(text.encode("utf-16") if codec == "utf-16" else b"\xfe\xff" + text.encode("utf-16-be"))
    info = import_dataset(store, path, "y")
    assert info.encoding == "utf-16"
    assert [c.name for c in info.columns] == ["id", "word", "y"]
    X, _ = load_split(store, info)
    assert set(X["word"]) <= {"né", "über"}


def test_gzip_csv(store: Store, tmp_path: Path) -> None:
    plain = write_csv(tmp_path / "p.csv", ["id", "x", "y"], simple_rows(30))
    path = tmp_path / "packed.csv.gz"
    path.write_bytes(gzip.compress(plain.read_bytes()))
    info = import_dataset(store, path, "y")
    assert (info.name, info.n_rows, info.format) == ("packed", 30, "csv")


def test_encoding_override(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "enc.csv"
    write_csv(path, ["id", "w", "y"], [[i, "Grüße", i % 2] for i in range(20)], encoding="cp1252")
    info = import_dataset(store, path, "y", encoding="cp1252")
    X, _ = load_split(store, info)
    assert set(X["w"]) == {"Grüße"}


# ----------------------------------------------------------------------------- never lose rows


def test_deep_type_change_keeps_every_row(store: Store, tmp_path: Path) -> None:
    n = 60_000
    path = tmp_path / "deep.csv"
    with open(path, "w") as fh:
        fh.write("n,x,y\n")
        for i in range(n):
            fh.write(f"{'hello' if i == 49_999 else i},{i % 7},{i % 2}\n")  # 'hello' is on line 50,001
    info = import_dataset(store, path, "y", use="n")  # an identifier: ignored unless used
    assert info.n_rows == n
    assert info.columns[0].sql_type == "VARCHAR"
    assert any("whole file" in note for note in info.notes)
    X_dev, _ = load_split(store, info, "dev")
    X_test, _ = load_split(store, info, "test")
    assert len(X_dev) + len(X_test) == n
    assert "hello" in set(X_dev["n"]) | set(X_test["n"])


def test_tricky_records_all_kept(store: Store, tmp_path: Path) -> None:
    """Quoted newlines and delimiters, CRLF, blank lines, no final newline: rows == records."""
    body = ['1,"multi\r\nline",a', '2,"x, y",b', "", '3,"say ""hi""",a', "4,plain,b", ""]
    body += [f"{i},v{i},{'ab'[i % 2]}" for i in range(5, 30)]
    path = tmp_path / "tricky.csv"
    path.write_bytes(("id,text,y\r\n" + "\r\n".join(body)).encode())
    with open(path, newline="") as fh:
        expected = sum(1 for r in csv.reader(fh) if r) - 1
    info = import_dataset(store, path, "y")
    assert info.n_rows == expected == 29
    X_dev, _ = load_split(store, info, "dev")
    X_test, _ = load_split(store, info, "test")
    texts = pd.concat([X_dev, X_test]).sort_index()["text"]
    assert texts.iloc[0] == "multi\r\nline" and texts.iloc[2] == 'say "hi"'


def test_blank_lines_do_not_trip_the_row_check(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("id,x,y\n" + "".join(f"{i},{i},{i % 2}\n" + ("\n" if i % 5 == 0 else "") for i in range(20)))
    assert import_dataset(store, path, "y").n_rows == 20


def test_row_count_guard(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If DuckDB ever returned fewer rows than the file's data lines, the import must refuse."""
    path = write_csv(tmp_path / "g.csv", ["id", "x", "y"], simple_rows(20))
    real = encodings_mod.scan_bytes

    def lying_scan(*args, **kwargs):
        scan = real(*args, **kwargs)
        scan.data_lines += 1
        return scan

    monkeypatch.setattr(encodings_mod, "scan_bytes", lying_scan)
    before = snapshot(store)
    with pytest.raises(InputError, match="refusing a partial import"):
        import_dataset(store, path, "y")
    assert snapshot(store) == before


BYTE_SCAN_CASES = {
    "utf-8": "id,name\n" + "".join(f"{i},caf\u00e9 {i} \u00fc\u00df\u20ac\n" for i in range(300)),
    "crlf and no final newline": "id,name\r\n" + "\r\n".join(f"{i},x{i}" for i in range(300)),
    "a line longer than a chunk": "id,name\n1," + "\u00e9" * 500 + "\n2,b\n",
    "latin-1 far down": "id,name\n" + "".join(f"{i},plain\n" for i in range(200)) + "201,caf\xe9\n",
    "cp1252 far down": "id,name\n" + "".join(f"{i},plain\n" for i in range(200)) + "201,\u201cquoted\u201d\n",
    "bare cr": "id,name\r1,a\r2,b\r",
}


@pytest.mark.parametrize("case", BYTE_SCAN_CASES)
def test_the_byte_scan_cut_at_any_place_finds_what_a_whole_read_does(case, tmp_path, monkeypatch):
    """The scan of a plain file reads it a chunk at a time, each scanned in place up to its last newline;
    with tiny chunks, every cut falls inside a character, a CRLF or a long line. It must find what the
    same bytes decoded at once say, and what the gzip path (which carries each cut line) finds."""
    text = BYTE_SCAN_CASES[case]
    data = text.encode("latin-1" if "latin" in case else "cp1252" if "cp1252" in case else "utf-8")
    plain, packed = tmp_path / "f.csv", tmp_path / "f.csv.gz"
    plain.write_bytes(data)
    packed.write_bytes(gzip.compress(data))
    monkeypatch.setattr(encodings_mod, "_SCAN_CHUNK", 7)
    scan = encodings_mod.scan_bytes(plain, False, detect=True)
    assert scan == encodings_mod.scan_bytes(packed, True, detect=True)
    expected = "latin-1" if "latin" in case else "cp1252" if "cp1252" in case else "utf-8"
    assert scan.encoding == expected
    assert scan.bad_line == (None if expected == "utf-8" else 202)
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    assert scan.data_lines == (None if b"\r" in data.replace(b"\r\n", b"") else len([x for x in lines if x]) - 1)


# ----------------------------------------------------------------------------- bad inputs

with tempfile.TemporaryDirectory() as _tmp:
    BAD_IDS = [case.id for case in make_bad_inputs(Path(_tmp))]


@pytest.fixture(scope="module")
def bad_cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BadInput]:
    return {case.id: case for case in make_bad_inputs(tmp_path_factory.mktemp("bad"))}


@pytest.fixture(scope="module")
def populated_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A store that already holds a dataset, so 'unchanged' has something to protect."""
    d = tmp_path_factory.mktemp("populated")
    s = Store(d / "store.duckdb")
    import_dataset(s, write_csv(d / "good.csv", ["id", "x", "y"], simple_rows(40)), "y")
    return s


@pytest.mark.parametrize("case_id", BAD_IDS)
def test_bad_input_is_one_line_input_error_and_store_unchanged(
    case_id: str, bad_cases: dict[str, BadInput], populated_store: Store
) -> None:
    case = bad_cases[case_id]
    before = snapshot(populated_store)
    with pytest.raises(InputError) as err:
        import_dataset(populated_store, case.path, case.target, **case.options)
    message = str(err.value)
    assert case.message_fragment in message
    assert "\n" not in message and len(message) < 300
    assert "Error:" not in message  # no DuckDB prefixes leaking through
    assert snapshot(populated_store) == before


def test_bad_inputs_cover_the_brief(bad_cases: dict[str, BadInput]) -> None:
    needed = {
        "missing_file",
        "directory",
        "empty",
        "header_only",
        "nul_bytes",
        "image",
        "gzipped",
        "too_few_fields",
        "corrupt_utf8",
        "target_typo",
        "target_all_missing",
        "single_class",
        "too_few_labeled",
        "test_size_zero",
        "test_size_large",
        "unknown_task",
    }
    assert needed <= set(bad_cases)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "locked.csv", ["id", "x", "y"], simple_rows(20))
    path.chmod(0)
    try:
        before = snapshot(store)
        with pytest.raises(InputError, match="permission denied"):
            import_dataset(store, path, "y")
        assert snapshot(store) == before
    finally:
        path.chmod(0o600)


def test_duplicate_dataset_name(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "dup.csv", ["id", "x", "y"], simple_rows(20))
    import_dataset(store, path, "y")
    before = snapshot(store)
    with pytest.raises(InputError, match="already exists.*--name"):
        import_dataset(store, path, "y")
    assert snapshot(store) == before
    assert import_dataset(store, path, "y", name="dup again").name == "dup again"


# ----------------------------------------------------------------------------- the hold-out split


def _labels(n_a: int, n_b: int, n_c: int) -> list[str]:
    labels = ["a"] * n_a + ["b"] * n_b + ["c"] * n_c
    rng = np.random.default_rng(42)
    return list(rng.permutation(labels))


def test_split_is_stratified_seeded_and_disjoint(store: Store, tmp_path: Path) -> None:
    labels = _labels(180, 90, 30)
    path = write_csv(tmp_path / "strat.csv", ["i", "x", "y"], [[i, i % 7, lab] for i, lab in enumerate(labels)])
    info = import_dataset(store, path, "y", seed=3)
    assert (info.n_dev, info.n_test, info.n_unlabeled) == (240, 60, 0)
    X_dev, y_dev = load_split(store, info, "dev")
    X_test, y_test = load_split(store, info, "test")
    assert y_test.value_counts().to_dict() == {"a": 36, "b": 18, "c": 6}
    assert set(X_dev.index).isdisjoint(X_test.index)
    assert sorted([*X_dev.index, *X_test.index]) == list(range(300))
    assert list(X_dev.index) == sorted(X_dev.index)
    assert all(y_dev.loc[i] == labels[i] for i in X_dev.index)

    same = import_dataset(store, path, "y", seed=3, name="same seed")
    other = import_dataset(store, path, "y", seed=4, name="other seed")
    assert list(load_split(store, same, "test")[0].index) == list(X_test.index)
    assert list(load_split(store, other, "test")[0].index) != list(X_test.index)


def test_split_regression_fraction(store: Store, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = write_csv(tmp_path / "reg.csv", ["x", "y"], [[i, v] for i, v in enumerate(rng.normal(size=50))])
    info = import_dataset(store, path, "y", test_size=0.3)
    assert (info.task, info.n_test, info.n_dev) == ("regression", 15, 35)


def test_tiny_class_falls_back_to_unstratified(store: Store, tmp_path: Path) -> None:
    labels = ["a"] * 20 + ["b"] * 19 + ["c"]
    path = write_csv(tmp_path / "tiny.csv", ["i", "y"], [[i, lab] for i, lab in enumerate(labels)])
    info = import_dataset(store, path, "y")
    assert any("not stratified" in n for n in info.notes)
    assert info.n_test == 8 and info.classes == ("a", "b", "c")


SPLIT_CASES = {
    "binary": ([180, 120], 0.2),
    "tied remainders": ([5, 5, 5], 0.3),
    "imbalanced": ([500, 50, 5, 2], 0.3),
    "many classes": (list(np.random.default_rng(2).integers(2, 30, size=40)), 0.2),
    "singleton class": ([20, 19, 1], 0.2),
    "fewer test rows than classes": ([2] * 12, 0.2),
    "regression": (None, 0.35),
}


@pytest.mark.parametrize("case", SPLIT_CASES)
@pytest.mark.parametrize("seed", [0, 3, 12345])
def test_holdout_is_train_test_split(case: str, seed: int) -> None:
    """The NumPy split picks exactly the rows scikit-learn's train_test_split picks (stratified when it can be)."""
    from sklearn.model_selection import train_test_split

    class_counts, test_size = SPLIT_CASES[case]
    if class_counts is None:
        n, codes, classes = 57, None, ()
    else:
        codes = np.random.default_rng(seed).permutation(np.repeat(np.arange(len(class_counts)), class_counts))
        n, classes = len(codes), tuple(f"k{i}" for i in range(len(class_counts)))
    rows = np.arange(n)
    try:
        expected = train_test_split(rows, test_size=test_size, random_state=seed, stratify=codes)[1]
        stratified = codes is not None
    except ValueError:
        expected = train_test_split(rows, test_size=test_size, random_state=seed)[1]
        stratified = False
    test, note = holdout_positions(n, test_size, seed, codes, classes)
    assert sorted(test) == sorted(expected)
    assert (note is not None) == (codes is not None and not stratified)


def test_row_order_survives_parallel_reading(store: Store, tmp_path: Path) -> None:
    """A file DuckDB reads in several 8 MB chunks and threads: every row keeps its file position."""
    n = 600_000
    path = tmp_path / "long.csv"
    with open(path, "w") as fh:
        fh.write("i,pad,y\n")
        fh.writelines(f"{i},{'p' * (i % 23)},{'ab'[i % 3 == 0]}\n" for i in range(n))
    info = import_dataset(store, path, "y", use="i")  # an identifier: ignored unless used
    X_dev, y_dev = load_split(store, info, "dev")
    X_test, y_test = load_split(store, info, "test")
    assert len(X_dev) + len(X_test) == n
    for X, y in ((X_dev, y_dev), (X_test, y_test)):
        assert (X["i"].to_numpy() == X.index.to_numpy()).all()
        assert (y.to_numpy() == np.where(X.index.to_numpy() % 3 == 0, "b", "a")).all()


def test_nan_target_is_unlabeled(store: Store, tmp_path: Path) -> None:
    """'NAN' in a numeric target is missing: the row is unlabeled, not a NaN label in dev or test."""
    path = tmp_path / "nan_y.csv"
    path.write_text("x,y\n" + "".join(f"{i},{'NAN' if i % 5 == 0 else i * 1.5}\n" for i in range(50)))
    info = import_dataset(store, path, "y")
    assert (info.n_rows, info.n_unlabeled, info.n_dev + info.n_test) == (50, 10, 40)
    for part in ("dev", "test"):
        X, y = load_split(store, info, part)
        assert not y.isna().any() and not set(X.index) & set(range(0, 50, 5))


def test_unlabeled_rows_counted_and_kept_out(store: Store, tmp_path: Path) -> None:
    rows = [[i, i * 2, "" if i % 6 == 0 else ("p" if i % 2 else "q")] for i in range(42)]
    path = write_csv(tmp_path / "unl.csv", ["i", "x", "y"], rows)
    info = import_dataset(store, path, "y")
    missing = [i for i in range(42) if i % 6 == 0]
    assert info.n_unlabeled == len(missing) == 7
    assert info.n_dev + info.n_test == 35 and info.n_rows == 42
    assert any("7 of 42 rows" in n and "unlabeled" in n for n in info.notes)
    seen = set(load_split(store, info, "dev")[0].index) | set(load_split(store, info, "test")[0].index)
    assert seen.isdisjoint(missing)
    assert get_dataset(store, info.id).columns[2].n_missing == 7


# ----------------------------------------------------------------------------- Parquet


def test_parquet_import(store: Store, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 30
    table = pa.table(
        {
            "a": pa.array(range(n)),
            "A": pa.array([i * 10 for i in range(n)]),
            "f": pa.array([math.nan if i % 5 == 0 else i / 2 for i in range(n)]),
            "flag": pa.array([None if i == 3 else i % 2 == 0 for i in range(n)]),
            "s": pa.array([None if i % 4 == 0 else f"s{i % 3}" for i in range(n)]),
            "ts": pa.array(pd.date_range("2024-01-01", periods=n, freq="D")),
            "y": pa.array([i % 2 for i in range(n)]),
        }
    )
    path = tmp_path / "data.parquet"
    pq.write_table(table, path)
    info = import_dataset(store, path, "y")
    assert info.format == "parquet" and info.encoding is None
    assert [c.name for c in info.columns] == ["a", "A", "f", "flag", "s", "ts", "y"]
    cols = {c.name: c for c in info.columns}
    assert cols["f"].n_missing == 6  # NaN counts as missing
    assert cols["flag"].kind == "boolean" and cols["flag"].n_missing == 1
    assert cols["ts"].kind == "datetime"
    assert (info.task, info.classes) == ("binary", ("0", "1"))
    X, y = load_split(store, info)
    assert X["f"].dtype == np.float64 and X["f"].isna().sum() == sum(1 for i in X.index if i % 5 == 0)
    assert set(y) == {"0", "1"}


# ----------------------------------------------------------------------------- profiling


def test_profile_matches_pandas(store: Store, tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    n = 200
    rows = []
    for i in range(n):
        num = "" if i % 9 == 0 else f"{rng.normal(10, 3):.4f}"
        cnt = "NA" if i % 11 == 0 else str(int(rng.integers(0, 50)))
        color = "" if i % 13 == 0 else ["red"] * 5 + ["green"] * 3 + ["blue"] * 2 + ["teal"]
        color = color if isinstance(color, str) else color[int(rng.integers(0, 11))]
        rows.append([num, cnt, color, f"id{i}", "t" if i % 3 else "f", int(rng.integers(0, 2))])
    path = write_csv(tmp_path / "prof.csv", ["num", "cnt", "color", "ident", "flag", "y"], rows)
    info = import_dataset(store, path, "y")
    df = pd.read_csv(path)
    prof = {c.name: c for c in info.columns}
    for name in df.columns:
        assert prof[name].n_missing == int(df[name].isna().sum()), name
    for name in ("num", "cnt"):
        assert prof[name].kind == "numeric"
        assert prof[name].mean == pytest.approx(df[name].mean())
        assert prof[name].std == pytest.approx(df[name].std())
        assert prof[name].n_distinct == df[name].nunique()
        assert float(prof[name].min) == pytest.approx(df[name].min())
        assert float(prof[name].max) == pytest.approx(df[name].max())
    counts = df["color"].value_counts()
    assert prof["color"].kind == "categorical"
    assert prof["color"].top_values[0] == (counts.index[0], int(counts.iloc[0]))
    assert dict(prof["color"].top_values) == {k: int(v) for k, v in counts.items()}
    assert prof["color"].n_distinct == df["color"].nunique()
    assert prof["ident"].kind == "text" and prof["ident"].n_distinct == n
    assert prof["flag"].kind == "boolean"
    assert get_dataset(store, info.name).columns == info.columns


def test_profile_strategies_agree(store: Store, tmp_path: Path) -> None:
    """The UNPIVOT profile (short tables) and the wide-form one (long tables) give the same numbers."""
    rows = [
        [
            i,
            None if i % 4 == 0 else i * 1.5,
            ["x", "y", "z"][i % 3] if i % 5 else "",
            f"2024-01-{i % 28 + 1:02d}",
            "true" if i % 2 else "false",
            i % 2,
        ]
        for i in range(120)
    ]
    info = import_dataset(store, write_csv(tmp_path / "agree.csv", ["i", "f", "c", "d", "b", "y"], rows), "y")
    storage = [f"c{i}" for i in range(6)]
    types = [c.sql_type for c in info.columns]
    with store.write() as con:  # the profiles read a table: the dataset's rows, copied to a temporary one
        con.execute(f"CREATE TEMP TABLE agree AS SELECT * FROM {data_layout(con, info).relation}")
        a = profile_unpivot(con, "agree", storage, types)
        b = profile_wide(con, "agree", storage, types, exact=True)
    for s in storage:
        assert (a[s].n_present, a[s].n_distinct, a[s].min, a[s].max, a[s].top) == (
            b[s].n_present,
            b[s].n_distinct,
            b[s].min,
            b[s].max,
            b[s].top,
        ), s
        assert a[s].mean == pytest.approx(b[s].mean) and a[s].std == pytest.approx(b[s].std)


def test_wide_file(store: Store, tmp_path: Path) -> None:
    """More columns than one profile query or UNPIVOT chunk holds."""
    n_cols = 1_200
    rng = np.random.default_rng(1)
    values = rng.integers(0, 100, size=(40, n_cols))
    rows = [[*map(int, r), "ab"[i % 2]] for i, r in enumerate(values)]
    info = import_dataset(store, write_csv(tmp_path / "wide.csv", [f"f{j}" for j in range(n_cols)] + ["y"], rows), "y")
    assert info.n_cols == n_cols + 1
    col = get_dataset(store, info.id).columns[1_100]
    assert (col.name, col.mean) == ("f1100", pytest.approx(values[:, 1_100].mean()))
    X, _ = load_split(store, info)
    assert X.shape == (32, n_cols)


# ----------------------------------------------------------------------------- task inference


def _target_file(tmp_path: Path, values: list[object]) -> Path:
    reps = (40 + len(values) - 1) // len(values)
    vals = (values * reps)[: max(40, len(values))]
    return write_csv(tmp_path / "t.csv", ["x", "target"], [[i, v] for i, v in enumerate(vals)])


@pytest.mark.parametrize(
    ("values", "task", "expected_task", "expected_classes"),
    [
        (["yes", "no"], None, "binary", ("no", "yes")),
        (["a", "b", "c"], None, "multiclass", ("a", "b", "c")),
        (["true", "false"], None, "binary", ("false", "true")),
        ([0, 1], None, "binary", ("0", "1")),
        (list(range(12)), None, "multiclass", tuple(sorted(str(i) for i in range(12)))),
        (list(range(100)), None, "regression", ()),
        ([0.5, 1.25, 2.75, 3.1], None, "regression", ()),
        ([1.0, 2.0, 3.0], None, "multiclass", ("1", "2", "3")),
        (list(range(100)), "multiclass", "multiclass", None),
        ([0, 1], "regression", "regression", ()),
    ],
)
def test_task_inference(store: Store, tmp_path: Path, values, task, expected_task, expected_classes) -> None:
    info = import_dataset(store, _target_file(tmp_path, values), "target", task=task)
    assert info.task == expected_task
    if expected_classes is not None:
        assert info.classes == expected_classes
    _, y = load_split(store, info)
    if expected_task == "regression":
        assert y.dtype == np.float64
    else:
        assert y.dtype == object and set(y) <= set(info.classes)


# ----------------------------------------------------------------------------- loading


def test_load_split_model_ready_dtypes(store: Store, tmp_path: Path) -> None:
    from sklearn.impute import SimpleImputer

    rows = []
    for i in range(40):
        rows.append(
            [
                "" if i == 1 else i * 1.5,
                "" if i == 2 else ("true" if i % 2 else "false"),
                "" if i == 3 else f"2024-01-{i % 28 + 1:02d}",
                "" if i % 10 == 4 else ["red", "blue"][i % 2],
                f"free text {i}",
                "yes" if i % 3 else "no",
            ]
        )
    info = import_dataset(
        store,
        write_csv(tmp_path / "types.csv", ["num", "flag", "day", "color", "txt", "y"], rows),
        "y",
        test_size=0.1,
        use="txt",
    )
    kinds = {c.name: c.kind for c in info.columns}
    assert kinds == {
        "num": "numeric",
        "flag": "boolean",
        "day": "datetime",
        "color": "categorical",
        "txt": "text",
        "y": "categorical",
    }
    X, y = load_split(store, info)
    assert X.index.name == "row"
    assert [str(t) for t in X.dtypes] == ["float64", "float64", "float64", "object", "object"]
    assert set(X["flag"].dropna()) == {0.0, 1.0}
    for i in X.index:
        if i != 3:
            assert X.loc[i, "day"] == pd.Timestamp(f"2024-01-{i % 28 + 1:02d}").timestamp()
    missing_rows = [i for i in X.index if i % 10 == 4]
    for i in missing_rows:
        v = X.loc[i, "color"]
        assert isinstance(v, float) and math.isnan(v)  # np.nan, not None / pd.NA
    assert y.dtype == object and set(y) == {"yes", "no"} == set(info.classes)
    filled = SimpleImputer(strategy="most_frequent").fit_transform(X[["color"]])
    assert not pd.isna(filled).any()


def test_data_is_copied(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "copy.csv", ["id", "x", "y"], simple_rows(20))
    info = import_dataset(store, path, "y")
    assert info.file_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    before = load_split(store, info)[0]
    write_csv(path, ["id", "x", "y"], [[0, 0, "no"]] * 20)
    pd.testing.assert_frame_equal(load_split(store, info)[0], before)


def test_load_split_rejects_unknown_part(store: Store, tmp_path: Path) -> None:
    info = import_dataset(store, write_csv(tmp_path / "p.csv", ["id", "x", "y"], simple_rows(20)), "y")
    with pytest.raises(InputError, match="unknown part"):
        load_split(store, info, "unlabeled")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- listing and lookup


def test_list_and_get(store: Store, tmp_path: Path) -> None:
    assert list_datasets(store) == []
    first = import_dataset(store, write_csv(tmp_path / "one.csv", ["id", "x", "y"], simple_rows(20)), "y")
    second = import_dataset(store, write_csv(tmp_path / "two.csv", ["id", "x", "y"], simple_rows(25)), "y")
    listed = list_datasets(store)
    assert [d.name for d in listed] == ["one", "two"]
    assert all(d.columns == () for d in listed)
    assert listed[1] == get_dataset(store, "two").__class__(**{**get_dataset(store, "two").__dict__, "columns": ()})
    assert get_dataset(store, second.id) == get_dataset(store, "two") == get_dataset(store, str(second.id))
    assert get_dataset(store, "one").columns == first.columns
    with pytest.raises(NotFoundError, match="did you mean 'one'"):
        get_dataset(store, "onw")
    with pytest.raises(NotFoundError):
        get_dataset(store, 999)


def test_module_import_is_light() -> None:
    code = (
        "import sys, core.data.importing, core.data.frames, core.store.datasets; "
        "print('pandas' in sys.modules, 'sklearn' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.stdout.split() == ["False", "False"]


def test_nan_spellings_are_missing(store: Store, tmp_path: Path) -> None:
    """'NAN' parses as a float NaN in DuckDB; it must count as missing like pandas' NaN."""
    path = tmp_path / "nan.csv"
    path.write_text("x,v,y\n" + "".join(f"{i},{'NAN' if i % 4 == 0 else i / 3},{i % 2}\n" for i in range(20)))
    info = import_dataset(store, path, "y")
    v = info.columns[1]
    assert (v.sql_type, v.n_missing) == ("DOUBLE", 5)
    assert v.mean == pytest.approx(np.mean([i / 3 for i in range(20) if i % 4]))


def test_unreadable_file_simulated(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same check as test_unreadable_file, but also when the tests run as root."""
    path = write_csv(tmp_path / "locked.csv", ["id", "x", "y"], simple_rows(20))

    def denied(file, *args, **kwargs):
        if Path(file) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return open(file, *args, **kwargs)

    monkeypatch.setattr(reading_mod, "open", denied, raising=False)
    before = snapshot(store)
    with pytest.raises(InputError, match="permission denied"):
        import_dataset(store, path, "y")
    assert snapshot(store) == before

"""The bundled sample datasets: present, parseable, the right shape of task, reproducible."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from core.data import samples
from core.data.samples import SAMPLES, Sample, get_sample, sample_data_dir, sample_path
from core.errors import NotFoundError

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "sample_data" / "make_samples.py"


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(sample_path(name))


def test_sample_data_dir_is_next_to_core():
    assert sample_data_dir() == REPO / "sample_data"


def test_samples_are_unique_frozen_and_complete():
    names = [s.name for s in SAMPLES]
    assert names == ["penguins", "anes96", "diabetes", "wide"]
    assert len(set(s.file for s in SAMPLES)) == len(SAMPLES)
    with pytest.raises(AttributeError):
        SAMPLES[0].name = "x"  # type: ignore[misc]
    for s in SAMPLES:
        assert s.description and "\n" not in s.description


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.name)
def test_each_sample_file_exists_parses_and_has_its_target(sample: Sample):
    path = sample_path(sample)
    assert path == sample_path(sample.name)
    assert path.stat().st_size < 1_000_000
    raw = path.read_bytes()
    raw.decode("utf-8")
    assert b"\r" not in raw and raw.endswith(b"\n")
    df = pd.read_csv(path)
    assert sample.target in df.columns
    assert df[sample.target].notna().all()
    assert len(df) > 0 and df.columns.is_unique


def test_penguins_is_multiclass_with_missing_values_and_categoricals():
    df = _read("penguins")
    assert df.shape == (344, 8)
    assert sorted(df["species"].unique()) == ["Adelie", "Chinstrap", "Gentoo"]
    assert df.isna().any().any()
    assert df["sex"].isna().sum() == 11
    for col in ("island", "sex"):
        assert not pd.api.types.is_numeric_dtype(df[col])
    assert pd.api.types.is_float_dtype(df["bill_length_mm"])


def test_anes96_is_binary_with_categoricals():
    df = _read("anes96")
    assert df.shape == (944, 10)
    assert sorted(df["vote"].unique()) == ["Clinton", "Dole"]
    assert df["PID"].nunique() == 7 and df["educ"].nunique() == 7
    for col in ("PID", "educ"):
        assert not pd.api.types.is_numeric_dtype(df[col])
    for col in ("popul", "TVnews", "selfLR", "ClinLR", "DoleLR", "age", "income"):
        assert pd.api.types.is_integer_dtype(df[col])


def test_diabetes_is_regression_on_a_float_target():
    df = _read("diabetes")
    assert df.shape == (442, 11)
    assert pd.api.types.is_float_dtype(df["progression"])
    assert df["progression"].nunique() > 100
    # the real, unscaled units (not scikit-learn's default standardised copy)
    assert df["age"].between(18, 80).all() and set(df["sex"]) == {1, 2}
    assert not df.isna().any().any()


def test_wide_has_more_features_than_rows():
    df = _read("wide")
    features = [c for c in df.columns if c != "label"]
    assert len(df) == 150 and len(features) == 500
    assert len(df) < len(features)
    assert features[0] == "f000" and features[-1] == "f499"
    assert sorted(df["label"].unique()) == [0, 1]
    assert all(pd.api.types.is_float_dtype(df[c]) for c in features)


def test_make_samples_is_deterministic(tmp_path: Path):
    spec = importlib.util.spec_from_file_location("make_samples", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main([str(tmp_path)]) == 0
    made = sorted(p.name for p in tmp_path.iterdir())
    assert made == sorted(s.file for s in SAMPLES)
    for name in made:
        assert (tmp_path / name).read_bytes() == (REPO / "sample_data" / name).read_bytes(), name


def test_unknown_sample_name_is_a_not_found_error():
    with pytest.raises(NotFoundError, match="no sample dataset named 'iris'"):
        get_sample("iris")


def test_missing_folder_is_a_one_line_not_found_error(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(samples, "__file__", str(tmp_path / "core" / "samples.py"))
    with pytest.raises(NotFoundError) as info:
        sample_path("penguins")
    assert "sample data folder not found" in str(info.value)
    assert "\n" not in str(info.value)


def test_samples_module_imports_nothing_heavy():
    code = (
        "import sys, core.data.samples; "
        "heavy = [m for m in ('pandas', 'sklearn', 'numpy', 'statsmodels') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""

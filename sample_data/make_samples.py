"""Regenerate the bundled sample datasets, byte for byte, from installed packages.

Usage::

    python sample_data/make_samples.py            # rewrite the CSVs next to this script
    python sample_data/make_samples.py OUT_DIR    # write them to OUT_DIR instead

Nothing is downloaded: the real datasets ship inside palmerpenguins, statsmodels and
scikit-learn, and ``wide.csv`` is generated with a fixed seed. Every file is written as
UTF-8, comma-delimited, ``\\n`` line endings, a header row, no index column, and an empty
field for a missing value. Running the script twice gives byte-identical files (the test
suite checks this), so a diff in a CSV after a dependency upgrade means the upstream data
changed. See README.md for what each file is, where it comes from and its licence.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

WIDE_SEED = 0
WIDE_ROWS = 150
WIDE_FEATURES = 500
WIDE_INFORMATIVE = 10


def _integral_to_int(df: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Write float columns that only hold whole numbers as integers ("181", not "181.0").

    The packages read integer columns that have missing values as float; the nullable
    ``Int64`` dtype keeps the gaps and prints the numbers the way the source files do.
    """
    df = df.copy()
    for col in columns if columns is not None else df.columns:
        s = df[col]
        if pd.api.types.is_float_dtype(s) and bool(((s.dropna() % 1) == 0).all()):
            df[col] = s.astype("Int64")
    return df


def penguins() -> pd.DataFrame:
    """Palmer penguins, as shipped by the palmerpenguins package (real NAs kept)."""
    from palmerpenguins import load_penguins

    return _integral_to_int(load_penguins())


# Value labels from statsmodels.datasets.anes96 NOTE (the ANES codebook codes).
_PID = {
    0: "Strong Democrat",
    1: "Weak Democrat",
    2: "Independent-Democrat",
    3: "Independent-Independent",
    4: "Independent-Republican",
    5: "Weak Republican",
    6: "Strong Republican",
}
_EDUC = {
    1: "1-8 grades",
    2: "Some high school",
    3: "High school graduate",
    4: "Some college",
    5: "College degree",
    6: "Master's degree",
    7: "PhD",
}
_VOTE = {0: "Clinton", 1: "Dole"}


def anes96() -> pd.DataFrame:
    """1996 American National Election Study subset from statsmodels.

    The ten documented variables, in their original order; the derived ``logpopul``
    column is dropped. Party identification, education and the vote are decoded from
    their numeric codes to the documented labels, so the file has real categorical
    columns and a string binary target. Every other column is kept as its number.
    """
    from statsmodels.datasets import anes96 as sm_anes96

    df = sm_anes96.load_pandas().data
    cols = ["popul", "TVnews", "selfLR", "ClinLR", "DoleLR", "PID", "age", "educ", "income", "vote"]
    df = _integral_to_int(df[cols].copy())
    for col, labels in (("PID", _PID), ("educ", _EDUC), ("vote", _VOTE)):
        decoded = df[col].map(labels)
        if decoded.isna().any():
            raise ValueError(f"anes96: unexpected code in {col}: {sorted(set(df[col]) - set(labels))}")
        df[col] = decoded.astype(str)
    return df


def diabetes() -> pd.DataFrame:
    """Efron et al. (2004) diabetes data from scikit-learn, unscaled (original units).

    The target is renamed ``progression`` and kept as float, as scikit-learn stores it,
    so it reads back as a continuous column; whole-number features are written as ints.
    """
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(scaled=False, as_frame=True).frame
    frame = frame.rename(columns={"target": "progression"})
    features = [c for c in frame.columns if c != "progression"]
    return _integral_to_int(frame, features)


def wide() -> pd.DataFrame:
    """Synthetic few-rows/many-features binary data for curse-of-dimensionality views.

    ``shuffle=False`` keeps the informative features first (f000-f009; the other 490
    are pure noise) so the README can name them; the rows are then shuffled with a fixed
    seed so the classes are not in blocks.
    """
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=WIDE_ROWS,
        n_features=WIDE_FEATURES,
        n_informative=WIDE_INFORMATIVE,
        n_redundant=0,
        n_repeated=0,
        n_classes=2,
        shuffle=False,
        random_state=WIDE_SEED,
    )
    order = np.random.RandomState(WIDE_SEED).permutation(WIDE_ROWS)
    X = np.round(X[order], 4) + 0.0  # "+ 0.0" turns -0.0 into 0.0
    df = pd.DataFrame(X, columns=[f"f{i:03d}" for i in range(WIDE_FEATURES)])
    df["label"] = y[order].astype(int)
    return df


# file name -> (builder, float format or None for pandas' shortest round-trip repr)
BUILDERS: dict[str, tuple[Callable[[], pd.DataFrame], str | None]] = {
    "penguins.csv": (penguins, None),
    "anes96.csv": (anes96, None),
    "diabetes.csv": (diabetes, None),
    "wide.csv": (wide, "%.4f"),
}


def write_all(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (build, float_format) in BUILDERS.items():
        path = out_dir / name
        build().to_csv(
            path,
            index=False,
            encoding="utf-8",
            lineterminator="\n",
            na_rep="",
            float_format=float_format,
        )
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "out_dir",
        nargs="?",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="where to write the CSV files (default: the folder of this script)",
    )
    args = parser.parse_args(argv)
    for path in write_all(args.out_dir):
        print(f"{path}  {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

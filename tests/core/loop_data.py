"""Datasets built to show each bottleneck of the ML loop, small enough to fit in a second.

Each builder writes a CSV and returns its path; the shapes are chosen so the diagnosis has
an unambiguous right answer:

- ``circles``: two concentric rings. No linear boundary exists, so a linear model stays near
  chance on its own training rows while a tree separates them: underfitting (``training``).
- ``noisy``: 120 rows, one weak signal among 30 features. An unpruned tree memorises the
  training rows and fails on validation: overfitting (``validation``).
- ``easy``: a clean linear boundary in two dimensions; logistic regression is near perfect
  on train, validation and test: ``none``.
- ``shifted``: ``easy`` with the features of its locked test rows mirrored (the hold-out split
  is drawn from the labels only, so the same rows are held out): the model is right on the
  development rows and wrong on the test rows (``test``).
- ``depth2``: the label is ``a > 0 and b > 0`` with 10% of labels flipped: a depth-2 tree is
  the right size, shallower underfits and deeper fits the flipped labels.
- ``growing``: 30 informative features and 300 rows: logistic regression is still learning at
  the largest training size (more data helps).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def _write(path: Path, X: np.ndarray, y: np.ndarray, names: list[str] | None = None) -> Path:
    frame = pd.DataFrame(np.round(X, 4), columns=names or [f"f{i}" for i in range(X.shape[1])])
    frame["y"] = y
    frame.to_csv(path, index=False)
    return path


def circles(folder: Path) -> Path:
    from sklearn.datasets import make_circles

    X, y = make_circles(n_samples=200, noise=0.08, factor=0.5, random_state=0)
    return _write(folder / "circles.csv", X, np.where(y == 1, "inner", "outer"), ["a", "b"])


def noisy(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 30))
    y = np.where(X[:, 0] + rng.normal(scale=1.0, size=120) > 0, "p", "q")
    return _write(folder / "noisy.csv", X, y)


def easy(folder: Path, name: str = "easy") -> Path:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 2))
    return _write(folder / f"{name}.csv", X, np.where(X[:, 0] + X[:, 1] > 0, "p", "q"), ["a", "b"])


def shifted(folder: Path, test_rows: np.ndarray) -> Path:
    """``easy`` with the feature values of ``test_rows`` (row numbers in the file) mirrored."""
    frame = pd.read_csv(easy(folder, "shifted"))
    frame.loc[test_rows, ["a", "b"]] = -frame.loc[test_rows, ["a", "b"]].to_numpy()
    frame.to_csv(folder / "shifted.csv", index=False)
    return folder / "shifted.csv"


def depth2(folder: Path) -> Path:
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(250, 3))
    y = ((X[:, 0] > 0) & (X[:, 1] > 0)).astype(int)
    y = np.where(rng.random(250) < 0.1, 1 - y, y)
    return _write(folder / "depth2.csv", X, np.where(y == 1, "yes", "no"), ["a", "b", "c"])


def growing(folder: Path) -> Path:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 30))
    w = rng.normal(size=30)
    return _write(folder / "growing.csv", X, np.where(X @ w + rng.normal(size=300) > 0, "p", "q"))


def imbalanced(folder: Path) -> Path:
    """300 rows, 10% in the minority class."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 3))
    y = np.array(["rare"] * 30 + ["common"] * 270)
    X[:30, 0] += 2.0
    return _write(folder / "imbalanced.csv", X, y, ["a", "b", "c"])

"""The small real datasets bundled with mlloop, so a first run needs no data of your own.

The CSV files live in ``sample_data/`` at the top of the repository, next to ``core/``;
``sample_data/README.md`` says what each one is, where it comes from and its licence,
and ``sample_data/make_samples.py`` regenerates them. This module only knows their
names, files and targets and where the folder is: it imports nothing heavy (no pandas,
no scikit-learn), so the CLI and the app can list the samples instantly.

The folder is found at ``Path(__file__).resolve().parents[2] / "sample_data"``, which
holds for a source checkout and an editable install. A wheel does not carry it; then
:func:`sample_data_dir` raises :class:`~core.errors.NotFoundError` with a one-line message.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.errors import NotFoundError


@dataclass(frozen=True)
class Sample:
    """One bundled dataset. ``name`` is the dataset name it gets in the store."""

    name: str
    file: str
    target: str
    description: str


SAMPLES: tuple[Sample, ...] = (
    Sample(
        "penguins",
        "penguins.csv",
        "species",
        "Palmer penguins: 344 birds, 3 species (multiclass); has missing values and categorical island/sex columns.",
    ),
    Sample(
        "anes96",
        "anes96.csv",
        "vote",
        "1996 US election survey: 944 voters, Clinton or Dole (binary); numeric and categorical columns.",
    ),
    Sample(
        "diabetes",
        "diabetes.csv",
        "progression",
        "Diabetes: 442 patients, disease progression after one year (regression); 10 numeric baseline measurements.",
    ),
    Sample(
        "wide",
        "wide.csv",
        "label",
        "Synthetic: 150 rows x 500 numeric features, 10 informative (binary); more features than rows.",
    ),
)


def sample_data_dir() -> Path:
    """The ``sample_data/`` folder, or :class:`NotFoundError` if this install lacks it."""
    path = Path(__file__).resolve().parents[2] / "sample_data"  # core/data/samples.py -> the repository
    if not path.is_dir():
        raise NotFoundError(
            f"sample data folder not found at {path}; the samples ship with a source "
            "checkout of mlloop-tui (git clone, pip install -e .), not with a wheel"
        )
    return path


def get_sample(name: str) -> Sample:
    """The bundled sample called ``name``, or :class:`NotFoundError`."""
    for sample in SAMPLES:
        if sample.name == name:
            return sample
    known = ", ".join(s.name for s in SAMPLES)
    raise NotFoundError(f"no sample dataset named {name!r}; the samples are: {known}")


def sample_path(sample: Sample | str) -> Path:
    """The CSV file of ``sample`` (a :class:`Sample` or its name); it must exist."""
    if isinstance(sample, str):
        sample = get_sample(sample)
    path = sample_data_dir() / sample.file
    if not path.is_file():
        raise NotFoundError(f"sample file {sample.file} is missing from {path.parent}")
    return path

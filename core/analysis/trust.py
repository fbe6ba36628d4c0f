"""Warnings on scores that cannot be trusted: the data-quality findings that inflate every score on
a dataset, kept with the dataset so that every place showing a score can say so.

Only findings that make a score optimistic count: a leaking feature, an identifier used as a feature
(a model can memorise rows by it, and a file sorted by the target makes it predictive), duplicate
rows shared by the development and the test rows, and conflicting labels in 5% of the rows or more
(the ``high`` severity of that finding). Missing values, shift or imbalance make a model worse, not
its score less true, so they do not warn.

A dataset's check runs once after its import, in a background process (:func:`check_unchecked`),
and again whenever the user asks for the quality findings; its result is cached in the store
(:mod:`core.store.quality_checks`). ``CHECKS_VERSION`` is raised when the checks change, so that
older results are checked again.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.analysis.findings import Finding, finding_from_dict, finding_to_dict
from core.analysis.quality import check_quality
from core.errors import MlloopError, RunCancelled, StoreError
from core.stopping import StopToken
from core.store import Store, quality_checks
from core.store.datasets import get_dataset, list_datasets
from core.text import first_line
from core.types import DatasetInfo, DataWarning

CHECKS_VERSION = 3  # 2: findings carry their `mlloop edit` arguments, and warnings' fixes are that command;
# 3: conflicting labels are relabeled to their majority where one exists


def score_warnings(findings: Iterable[Finding], dataset: str = "DATASET") -> tuple[DataWarning, ...]:
    """The warnings a dataset's findings put on its scores, one per column or problem; each ``fix`` is
    the ``mlloop edit`` command that makes a version without the problem (core.analysis.fixes)."""
    warnings: list[DataWarning] = []
    leaking: set[str] = set()
    findings = list(findings)

    def fix(f: Finding, fallback: str) -> str:
        return edit_command(dataset, f.edit) if f.edit else fallback

    for f in findings:
        if f.kind == "leakage":
            leaking.update(f.columns)
            warnings.append(DataWarning(f.kind, f.message, fix(f, f"drop column {', '.join(f.columns)}")))
    for f in findings:
        if f.kind == "identifier" and not leaking.intersection(f.columns):
            col = ", ".join(f.columns)
            message = f"{col} is an identifier used as a feature: a model can memorise rows by it"
            warnings.append(DataWarning(f.kind, message, fix(f, f"drop column {col}")))
        elif f.kind == "duplicates" and f.severity == "high":
            warnings.append(DataWarning(f.kind, f.message, fix(f, "drop the duplicate rows")))
        elif f.kind == "conflicting_labels" and f.severity == "high":
            warnings.append(DataWarning(f.kind, f.message, fix(f, "drop the conflicting rows, or relabel them")))
    return tuple(warnings)


def edit_command(dataset: str, args: Iterable[str]) -> str:
    """``mlloop edit NAME ARGS``, quoted for a POSIX shell."""
    import shlex

    return shlex.join(["mlloop", "edit", dataset, *args])


def check_and_record(
    store: Store,
    dataset_ref: str | int | DatasetInfo,
    *,
    mislabeled: bool = True,
    jobs: int = 1,
    stop: StopToken | None = None,
) -> tuple[Finding, ...]:
    """:func:`~core.analysis.quality.check_quality`, and its findings cached as the dataset's last check.

    The cache is best effort: a store too busy to take the write keeps its older check, and the
    findings are returned all the same.
    """
    dataset = dataset_ref if isinstance(dataset_ref, DatasetInfo) else get_dataset(store, dataset_ref)
    findings = check_quality(store, dataset, mislabeled=mislabeled, jobs=jobs, stop=stop)
    if mislabeled:  # only a complete check replaces the cached one
        try:
            _save(store, dataset.id, findings, dataset.name)
        except StoreError:
            pass
    return findings


def check_unchecked(store: Store, stop: StopToken | None = None) -> list[int]:
    """Check every dataset without a current check, one after another; the ids checked.

    Each dataset is claimed first, so checkers started by two imports share the work. A check
    that fails is recorded as failed (its error kept, and not tried again until ``CHECKS_VERSION``
    changes) and the next dataset is checked; a cancelled one is checked again by the next checker.
    """
    checked: list[int] = []
    while True:
        datasets = {d.id: d for d in list_datasets(store)}
        dataset_id = quality_checks.claim(store, list(datasets), CHECKS_VERSION)
        if dataset_id is None:
            return checked
        try:
            findings = check_quality(store, datasets[dataset_id], jobs=1, stop=stop)
        except RunCancelled:
            quality_checks.end_claim(store, dataset_id, "cancelled")
            raise
        except Exception as e:  # recorded, so that no later checker tries it again and again
            message = str(e) if isinstance(e, MlloopError) else f"internal error: {type(e).__name__}: {e}"
            quality_checks.end_claim(store, dataset_id, "failed", first_line(message))
            continue
        _save(store, dataset_id, findings, datasets[dataset_id].name)
        checked.append(dataset_id)


def needs_checks(store: Store) -> bool:
    """Whether some dataset has no current check (and none is running): a checker has work to do."""
    return quality_checks.unclaimed(store, CHECKS_VERSION)


def dataset_warnings(store: Store, dataset_id: int) -> tuple[DataWarning, ...] | None:
    """The warnings of the dataset's last finished check; ``None`` when it has not been checked."""
    findings = quality_checks.findings(store, dataset_id)
    if findings is None:
        return None
    return score_warnings((finding_from_dict(f) for f in findings), get_dataset(store, dataset_id).name)


def _save(store: Store, dataset_id: int, findings: tuple[Finding, ...], name: str) -> None:
    quality_checks.save(
        store, dataset_id, CHECKS_VERSION, [finding_to_dict(f) for f in findings], score_warnings(findings, name)
    )

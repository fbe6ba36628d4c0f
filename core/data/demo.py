"""The bundled sample data as datasets in a store, so a newcomer sees real runs at once."""

from __future__ import annotations

from core.data.importing import import_dataset
from core.data.samples import SAMPLES, sample_path
from core.store import Store
from core.store.datasets import list_datasets
from core.types import DatasetInfo


def load_samples(store: Store) -> list[DatasetInfo]:
    """Import every bundled sample not yet in the store; returns all samples' datasets."""
    existing = {d.name: d for d in list_datasets(store)}
    out = []
    for sample in SAMPLES:
        info = existing.get(sample.name)
        if info is None:
            info = import_dataset(store, sample_path(sample), sample.target, name=sample.name)
        out.append(info)
    return out

"""A run's memory budget bounds its local worker processes, not only its rows: each worker imports
scikit-learn and holds the rows again, so ``--jobs`` is lowered to what fits, with a note, and the
scores stay those of any other worker count."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from core.data.importing import import_dataset
from core.data.sampling import fit_bytes
from core.data.versions import Edit, create_version
from core.modeling.worker_memory import WORKER_IMPORTS, workers_within_memory
from core.report.serialize import dataset_to_dict
from core.store import Store
from core.store.datasets import get_dataset
from tests.core import loop_data


@pytest.fixture(scope="module")
def noisy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("workers")
    store = Store(folder / "w.duckdb")
    import_dataset(store, loop_data.noisy(folder), "y")
    return store


def test_jobs_stand_while_their_workers_fit_the_budget(noisy):
    info = get_dataset(noisy, "noisy")
    each = WORKER_IMPORTS + fit_bytes(info, info.n_dev)
    assert workers_within_memory([info], None, 4, 4 * each) == (4, None)
    assert workers_within_memory([info], None, 1, 1) == (1, None)  # one job starts no worker


def test_a_budget_for_fewer_workers_lowers_jobs_and_says_why(noisy):
    info = get_dataset(noisy, "noisy")
    each = WORKER_IMPORTS + fit_bytes(info, info.n_dev)
    jobs, note = workers_within_memory([info], None, 4, 3 * each + 1)
    assert jobs == 3 and note is not None
    assert note.startswith("4 worker processes need about") and "(--memory): 3 workers" in note
    jobs, note = workers_within_memory([info], "all", 2, 2 * each - 1)
    assert jobs == 1 and note is not None and note.endswith("every fold runs in this process")


def test_a_sample_counts_its_rows_and_every_dataset_of_a_batch_counts(noisy):
    info = get_dataset(noisy, "noisy")
    sampled = WORKER_IMPORTS + fit_bytes(info, 30)
    assert workers_within_memory([info], 30, 2, 2 * sampled) == (2, None)
    assert workers_within_memory([info], None, 2, 2 * sampled)[0] == 1  # every row needs more
    twice = WORKER_IMPORTS + 2 * fit_bytes(info, 30)
    assert workers_within_memory([info, info], 30, 2, 2 * twice) == (2, None)
    assert workers_within_memory([info, info], 30, 2, 2 * twice - 1)[0] == 1


def test_the_memory_a_dataset_was_imported_with_is_its_runs_budget(tmp_path):
    store = Store(tmp_path / "m.duckdb")
    info = import_dataset(store, loop_data.noisy(tmp_path), "y", memory="64MB")
    assert info.memory == get_dataset(store, "noisy").memory == 64 * 2**20
    assert dataset_to_dict(info)["memory_budget"] == 64 * 2**20  # datasets NAME --json shows it
    jobs, note = workers_within_memory([info], None, 2)
    assert jobs == 1 and note is not None and "64 MB (the import's --memory)" in note
    assert workers_within_memory([info], None, 2, 2**34) == (2, None)  # the run's own --memory comes first
    version = create_version(store, "noisy", Edit(drop_columns=("f0",)))
    assert version.memory == info.memory  # a version is the same data: the same budget
    other = import_dataset(store, loop_data.circles(tmp_path), "y")
    assert other.memory is None and workers_within_memory([other], None, 2) == (2, None)


WORKERS_SEEN = """
import json, sys, psutil
from core.modeling.evaluation import run_baselines
from core.store import Store
from core.store.runs import get_run
store = Store(sys.argv[1])
memory = int(sys.argv[2]) if sys.argv[2] != "-" else None
seen, notes = [], []
me = psutil.Process()
ids = run_baselines(store, "noisy", "dummy,tree", folds=4, jobs=2, memory=memory,
                    on_progress=lambda p: seen.append(len(me.children(recursive=True))), on_note=notes.append)
scores = [[f.validation["accuracy"] for f in get_run(store, i).fold_scores] for i in ids]
print(json.dumps({"workers": max(seen), "notes": notes, "scores": scores}))
"""


def _run_with(store: Store, memory: int | None) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", WORKERS_SEEN, str(store.path), str(memory) if memory else "-"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_run_over_its_budget_starts_no_workers_and_scores_the_same(noisy):
    free = _run_with(noisy, None)
    tight = _run_with(noisy, 300 * 2**20)  # two workers need about 440 MB
    assert free["workers"] >= 2 and not free["notes"]
    assert tight["workers"] == 0 and len(tight["notes"]) == 1 and "300 MB (--memory)" in tight["notes"][0]
    assert tight["scores"] == free["scores"]

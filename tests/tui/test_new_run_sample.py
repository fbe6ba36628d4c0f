"""The new-run dialog's sample field: ``mlloop run --sample N`` from the app, checked in the dialog by the
CLI's own rule (issue 11)."""

from __future__ import annotations

import pytest

from core.data.importing import import_dataset
from core.store import Store
from core.store.runs import list_runs
from mlloop_tui.app import MlloopApp
from mlloop_tui.dialogs.new_run import ModelList, RequestError, build_request
from tests.test_cli import _snapshot
from tests.tui.conftest import wait_for
from tests.tui.test_new_run import error_text
from tests.tui.test_new_run_specs import finished, new_run, record_starts


def binary_store(tmp_path, binary_csv) -> Store:
    store = Store(tmp_path / "s.duckdb")
    import_dataset(store, binary_csv, "label")  # 192 development rows, two classes
    return store


async def run_dummy(pilot, started: list, sample: str) -> None:
    """Start a dummy run from the dialog with this sample field, and wait until its child ends."""
    dialog = await new_run(pilot, "binary")
    dialog.query_one(ModelList).deselect_all()
    dialog.query_one(ModelList).select("dummy")
    dialog.query_one("#sample").value = sample
    before = len(started)
    await pilot.press("enter")
    await wait_for(pilot, lambda: len(started) == before + 1)
    await finished(pilot, started)


async def test_a_sample_of_n_rows_reaches_the_child_and_the_run_records_it(tmp_path, binary_csv, monkeypatch):
    monkeypatch.delenv("MLLOOP_CLUSTER", raising=False)
    store = binary_store(tmp_path, binary_csv)
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        started = record_starts(app)
        await run_dummy(pilot, started, "100")
        (child,) = started
        assert child.request.sample == 100
        argv = child.process.args
        assert argv[argv.index("--sample") + 1] == "100"
        assert child.process.returncode == 0, child.error_line()
    (run,) = list_runs(store)
    assert run.status == "done" and run.sample is not None
    assert (run.sample.size, run.sample.rows, run.sample.of, run.sample.how) == (100, 100, 192, "stratified")


async def test_all_in_the_sample_field_fits_every_row_whatever_the_memory_budget(tmp_path, binary_csv, monkeypatch):
    monkeypatch.delenv("MLLOOP_CLUSTER", raising=False)
    monkeypatch.setenv("MLLOOP_MEMORY_BUDGET", "1000")  # bytes: without --sample, the child would fit on a sample
    store = binary_store(tmp_path, binary_csv)
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        started = record_starts(app)
        await run_dummy(pilot, started, "all")
        await run_dummy(pilot, started, "")  # the field left empty: the budget applies
        every, capped = started
        argv = every.process.args
        assert argv[argv.index("--sample") + 1] == "all" and "--sample" not in capped.process.args
        assert every.process.returncode == capped.process.returncode == 0, (every.error_line(), capped.error_line())
    first, second = sorted(list_runs(store), key=lambda r: r.id)
    assert first.status == "done" and first.sample is None
    assert second.status == "done" and second.sample is not None and second.sample.size < 192


async def test_a_bad_sample_is_one_line_in_the_dialog_and_starts_nothing(tmp_path, binary_csv, monkeypatch):
    monkeypatch.delenv("MLLOOP_CLUSTER", raising=False)
    store = binary_store(tmp_path, binary_csv)
    before = _snapshot(store.path)
    app = MlloopApp(store, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        started = record_starts(app)
        dialog = await new_run(pilot, "binary")  # two folds
        field = dialog.query_one("#sample")
        for text, message in (
            ("0", "sample must be a positive number of rows, got 0"),
            ("-5", "sample must be a positive number of rows, got -5"),
            ("100000", "sample 100000 is more than the 192 development rows of 'binary'"),
            ("3", "sample 3 is below 2 folds × 2 classes = 4: each class needs a row in every fold"),
        ):
            field.value = text
            await pilot.pause()
            assert error_text(dialog) == ""  # the edit cleared the last message
            await pilot.press("enter")
            await wait_for(pilot, lambda: error_text(dialog))  # checked against the dataset in a worker
            assert error_text(dialog) == message and dialog.focused is field, (text, error_text(dialog))
            assert app.screen is dialog
        field.value = ""
        await pilot.press("escape")
    assert not started and list_runs(store) == []
    assert _snapshot(store.path) == before


def test_build_request_passes_a_sample_on_and_leaves_it_out_when_empty():
    whole = build_request("d", ["tree"], "5", "1", "0", "1")
    assert whole.sample is None and "--sample" not in whole.command()
    sampled = build_request("d", ["tree"], "5", "1", "0", "1", sample=" 1_000 ")
    argv = sampled.command()
    assert sampled.sample == 1000 and argv[argv.index("--sample") + 1] == "1000"
    every = build_request("d", ["tree"], "5", "1", "0", "1", sample=" All ")
    argv = every.command()
    assert every.sample == "all" and argv[argv.index("--sample") + 1] == "all"  # every row, whatever the budget
    for text in ("0", "-3", "lots"):
        with pytest.raises(RequestError) as caught:
            build_request("d", ["tree"], "5", "1", "0", "1", sample=text)
        assert caught.value.field == "sample"

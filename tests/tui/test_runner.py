"""The app cancels a child with SIGINT; that must work however the app itself was started."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from core.data.importing import import_dataset
from core.store import Store
from tests.core import loop_data


def test_x_cancels_a_run_even_when_the_app_was_started_with_sigint_ignored(tmp_path):
    # `nohup mlloop &` from a script starts the app with SIGINT ignored, and its children inherit that
    store = Store(tmp_path / "loop.duckdb")
    import_dataset(store, loop_data.circles(tmp_path), "y")
    app_side = textwrap.dedent(
        f"""
        import signal, sys, time
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        from core.store import Store
        from core.store.runs import list_runs
        from mlloop_tui.runner import RunLauncher, RunRequest

        store = Store({str(store.path)!r})
        launcher = RunLauncher(store.path)
        child = launcher.start(RunRequest("circles", ("forest",), folds=5, repeats=20, jobs=1))
        end = time.monotonic() + 120
        while not any(r.n_folds_done for r in list_runs(store)) and time.monotonic() < end:
            time.sleep(0.1)
        launcher.cancel()
        print(child.process.wait(timeout=60), [r.status for r in list_runs(store)])
        """
    )
    done = subprocess.run([sys.executable, "-c", app_side], capture_output=True, text=True, timeout=200)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "130 ['cancelled']"  # Ctrl-C's exit status; the run is kept, cancelled

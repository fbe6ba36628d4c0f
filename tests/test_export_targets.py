"""export --force replaces regular files only: never a device, a FIFO or a symbolic link."""

from __future__ import annotations

import os
import stat

import pytest

from tests.conftest import make_runs_store, run_mlloop
from tests.test_cli import _assert_clean_failure


@pytest.fixture(scope="module")
def runs_db(tmp_path_factory: pytest.TempPathFactory):
    from tests.conftest import write_binary_csv

    folder = tmp_path_factory.mktemp("targets")
    make_runs_store(folder / "s.duckdb", write_binary_csv(folder / "binary.csv"), "label", models="dummy")
    return folder / "s.duckdb"


def test_force_never_replaces_a_device(runs_db):
    before = os.stat("/dev/null")
    _assert_clean_failure(
        run_mlloop("export", "1", "-o", "/dev/null", "--format", "md", "--force", store=runs_db), "not a regular file"
    )
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino


def test_force_never_replaces_a_fifo_or_a_symlink(runs_db, tmp_path):
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)
    real = tmp_path / "real.md"
    real.write_text("keep me")
    link = tmp_path / "link.md"
    link.symlink_to(real)
    for target in (fifo, link):
        _assert_clean_failure(
            run_mlloop("export", "1", "-o", str(target), "--force", store=runs_db), "not a regular file"
        )
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and link.is_symlink() and real.read_text() == "keep me"
    written = tmp_path / "summary.md"
    written.write_text("old")
    assert run_mlloop("export", "1", "-o", str(written), "--force", store=runs_db).returncode == 0
    assert written.read_text().startswith("# mlloop run 1")

"""A store file that is damaged, from a newer or broken schema, or not an mlloop store at all: every
command says so in one line with exit 3, never touches the network, and leaves the file as it was."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time

import duckdb
import pytest

from tests.conftest import SAMPLES, run_mlloop

COMMANDS = [
    ["runs"],
    ["show", "1"],
    ["datasets"],
    ["run", "penguins", "--models", "dummy", "--jobs", "1"],
    ["import", str(SAMPLES / "penguins.csv"), "--target", "species", "--name", "again"],
]


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory):
    db = tmp_path_factory.mktemp("good") / "good.duckdb"
    assert run_mlloop("import", str(SAMPLES / "penguins.csv"), "--target", "species", store=db).returncode == 0
    assert run_mlloop("run", "penguins", "--models", "dummy", "--jobs", "1", store=db).returncode == 0
    return db


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _edit(db, sql: str) -> None:
    con = duckdb.connect(str(db))
    con.execute(sql)
    con.close()


def _damaged(kind: str, good, folder):
    path = folder / f"{kind}.duckdb"
    if kind == "truncated":
        path.write_bytes(good.read_bytes()[:20_000])
    elif kind == "garbage":
        path.write_bytes(os.urandom(300_000))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "bad_schema_version":
        path.write_bytes(good.read_bytes())
        _edit(path, "UPDATE meta SET value = 'abc' WHERE key = 'schema_version'")
    elif kind == "no_schema_version":
        path.write_bytes(good.read_bytes())
        _edit(path, "DELETE FROM meta")
    elif kind == "sqlite":
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE t (a)")
        con.commit()
        con.close()
    elif kind == "foreign_duckdb":
        _edit(path, "CREATE TABLE sales (day DATE, amount DOUBLE)")
    return path


@pytest.mark.parametrize(
    "kind", ["truncated", "garbage", "empty", "bad_schema_version", "no_schema_version", "sqlite", "foreign_duckdb"]
)
def test_every_command_refuses_the_file_with_exit_3_and_leaves_it_as_it_was(kind, good, tmp_path):
    path = _damaged(kind, good, tmp_path)
    before = _sha(path)
    for args in COMMANDS:
        start = time.monotonic()
        r = run_mlloop(*args, store=path)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 3, (kind, args, r.returncode, r.stderr)
        assert len(lines) == 1 and lines[0].startswith("mlloop: error:"), (kind, args, r.stderr)
        assert "download" not in r.stderr.lower() and "extension" not in r.stderr.lower(), r.stderr  # no network
        assert time.monotonic() - start < 30
    assert _sha(path) == before
    assert not (tmp_path / f"{kind}.duckdb.wal").exists()


def test_a_block_damaged_inside_the_file_is_a_store_error_too(good, tmp_path):
    path = tmp_path / "mid.duckdb"
    data = bytearray(good.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 200_000] = os.urandom(200_000)
    path.write_bytes(bytes(data))
    r = run_mlloop("run", "penguins", "--models", "dummy", "--jobs", "1", store=path)  # reads the dataset's blocks
    assert r.returncode == 3 and len(r.stderr.strip().splitlines()) == 1, r.stderr


@pytest.fixture
def small_disk(tmp_path):
    """A 5 MB tmpfs: a real full disk (needs the right to mount, which CI's root has)."""
    import subprocess

    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=5m", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_says_so_with_exit_3_and_loses_nothing(small_disk, tmp_path):
    import numpy as np
    import pandas as pd

    db = small_disk / "s.duckdb"
    assert run_mlloop("import", str(SAMPLES / "penguins.csv"), "--target", "species", store=db).returncode == 0
    rng = np.random.default_rng(0)
    n = 200_000
    big = tmp_path / "big.csv"
    pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "y": rng.integers(0, 2, n)}).to_csv(
        big, index=False
    )
    r = run_mlloop("import", str(big), "--target", "y", store=db)
    assert r.returncode == 3 and len(r.stderr.strip().splitlines()) == 1 and "disk" in r.stderr and "full" in r.stderr
    listed = run_mlloop("datasets", "--json", store=db)
    assert listed.returncode == 0 and [d["name"] for d in json.loads(listed.stdout)] == ["penguins"]


@pytest.fixture
def read_only_folder(good, tmp_path):
    """A folder holding a copy of the good store that nobody may write to: immutable for root
    (chattr +i: permissions do not stop root), mode 0555 for anyone else."""
    import shutil
    import subprocess

    folder = tmp_path / "ro"
    folder.mkdir()
    shutil.copy(good, folder / "s.duckdb")
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
            pytest.skip("chattr +i is not available here to make a folder read-only for root")
        undo = ["chattr", "-i", str(folder)]
    else:
        folder.chmod(0o555)
        undo = ["chmod", "755", str(folder)]
    try:
        yield folder
    finally:
        subprocess.run(undo, capture_output=True)


def test_a_read_only_folder_says_so_with_exit_3_and_changes_nothing(read_only_folder):
    db = read_only_folder / "s.duckdb"
    before = _sha(db)
    for command in (["run", "penguins", "--models", "dummy", "--jobs", "1"], ["target", "penguins", "0.9"]):
        r = run_mlloop(*command, store=db)
        assert r.returncode == 3, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and "read-only" in r.stderr
    assert _sha(db) == before
    listed = run_mlloop("runs", "--json", store=db)  # reading still works
    assert listed.returncode == 0 and len(json.loads(listed.stdout)) == 1

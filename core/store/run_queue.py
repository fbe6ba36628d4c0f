"""Runs at work: the heartbeat that shows their process lives, and the store's run queue, where groups
of runs wait for the machine, one group working at a time.

A working run beats its heart every few seconds (:func:`heartbeat_while`), so that readers on other
machines can tell a run whose process died from a slow one (:func:`core.store.runs.effective_status`).

A group's pool of workers is as wide as the machine, so two groups fitting at once oversubscribe
it: both take longer, and each run's wall time stops meaning anything. Runs started from the app
(``mlloop run --queue``) therefore queue: they are created ``queued`` (listed, and cancelled, like
any run) and start when no earlier queued group is still waiting and the queue's lock is free.
Capping each pool instead would leave a 2-core machine one worker per group, and the first
group's results would come no sooner. (Runs on a Dask cluster do not queue: they use its cores.)

The lock is an advisory ``flock`` on a file beside the store, held while the group works: the
system drops it when the process ends, however it ends, so a killed run never blocks the queue.
Turns go by group id (oldest first); a waiting group whose process is gone no longer counts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from core.errors import StoreError
from core.store.connection import Store
from core.store.runs import effective_status

HEARTBEAT_EVERY_S = 5.0
WAIT_S = 0.25  # between two looks at the queue while waiting


def heartbeat(store: Store, run_ids: Iterable[int]) -> None:
    ids = list(run_ids)
    if ids:
        with store.write() as con:
            con.execute(
                f"UPDATE runs SET heartbeat_at = ? WHERE id IN ({', '.join('?' * len(ids))})",
                [time.time(), *ids],
            )


@contextmanager
def heartbeat_while(store: Store, active: Callable[[], list[int]]) -> Iterator[None]:
    """Keep the active runs' heartbeat fresh while folds take long (or the runs wait their turn),
    from a daemon thread."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_EVERY_S):
            try:
                heartbeat(store, active())
            except Exception:  # one missed beat is harmless; readers allow many
                pass

    thread = threading.Thread(target=beat, daemon=True, name="mlloop-heartbeat")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def queue_file(store: Store) -> Path:
    return store.path.with_name(store.path.name + ".queue")


@contextmanager
def turn(store: Store, group_ids: Sequence[int], run_ids: Sequence[int], check: Callable[[], None]) -> Iterator[None]:
    """Wait for the queue, then mark ``run_ids`` running (their start is now) and hold the queue
    while the block runs. ``check()`` is called while waiting: it raises to stop waiting (a stop
    token's :class:`~core.errors.RunCancelled`); Ctrl-C interrupts the wait too."""
    with _queue_held(store, lambda: waiting_before(store, min(group_ids)), check):
        start_queued(store, run_ids)
        yield


@contextmanager
def machine_turn(store: Store, check: Callable[[], None]) -> Iterator[None]:
    """:func:`turn` for work that is not a run: a curve's or a test evaluation's fits, started from
    the app. It waits for the group at work and for the groups queued before it was asked, then
    holds the queue, so the groups queued after it wait in turn; ``check`` as :func:`turn` takes it."""
    with store.read() as con:
        (newest,) = con.execute("SELECT coalesce(max(group_id), 0) FROM runs").fetchone() or (0,)
    with _queue_held(store, lambda: waiting_before(store, int(newest) + 1), check):
        yield


@contextmanager
def _queue_held(store: Store, others_first: Callable[[], bool], check: Callable[[], None]) -> Iterator[None]:
    """Hold the queue's lock while the block runs, once it is free and ``others_first()`` is false."""
    import fcntl

    path = queue_file(store)
    try:
        lock = path.open("a")
    except OSError as e:
        raise StoreError(f"cannot open the run queue {path}: {e.strerror}") from None
    with lock:
        while True:  # the lock first: while a group works, waiting costs no read of the store
            check()
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                time.sleep(WAIT_S)
                continue
            if not others_first():
                break
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)  # an older group waits too: its turn first
            time.sleep(WAIT_S)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def queue_busy(store: Store) -> bool:
    """Whether a group (or a curve, a test evaluation) holds the queue now: work asked for now waits."""
    import fcntl

    try:
        with queue_file(store).open("a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
    except BlockingIOError:
        return True
    except OSError:
        return False  # no queue file can be made here: nothing can hold it either
    return False


def waiting_before(store: Store, group_id: int) -> bool:
    """Whether a group older than ``group_id`` is still queued, its process alive."""
    with store.read() as con:
        rows = con.execute(
            "SELECT status, pid, host, heartbeat_at, started_at FROM runs WHERE status = 'queued' AND group_id < ?",
            [group_id],
        ).fetchall()
    return any(
        effective_status(status, pid, host, beat, started_at=started) == "queued"
        for status, pid, host, beat, started in rows
    )


def start_queued(store: Store, run_ids: Sequence[int]) -> None:
    """Queued runs start now: ``running``, and their time counts from here, not from the wait."""
    now = time.time()
    with store.write() as con:
        con.execute(
            "UPDATE runs SET status = 'running', started_at = ?, heartbeat_at = ? "
            f"WHERE status = 'queued' AND id IN ({', '.join('?' * len(run_ids))})",
            [now, now, *run_ids],
        )

"""Whether the process that claimed some work (a run, a quality check) is still alive.

Claims record a pid, a host and a start time; a pid alone is not enough, since pids are reused.
"""

from __future__ import annotations

import os

PID_START_SLACK_S = 5.0  # work records its start after its process starts; a later start is another process


def pid_alive(pid: int, started_at: float | None = None) -> bool:
    """Whether ``pid`` is a live process, not a zombie, and (given ``started_at``) started before then."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (killed, not yet reaped) still answers kill(0); its state in /proc says "Z".
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return True  # no /proc here: kill(0) is all there is to ask
    if fields[0] == "Z":
        return False
    return started_at is None or process_started(fields) <= started_at + PID_START_SLACK_S


def process_started(stat_fields: list[str]) -> float:
    """When a process started (epoch seconds), from the fields of /proc/PID/stat after its name."""
    with open("/proc/stat", encoding="ascii") as f:
        boot = next(float(line.split()[1]) for line in f if line.startswith("btime "))
    return boot + int(stat_fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: start time in clock ticks

"""Measuring a `curate run` in a child process, shared by the benchmarks' scale modes.

    from measure import run_monitored, tree_rss   # bench/ is on sys.path when a script in it runs

`run_monitored(command)` starts `command` (a `curate run ... --log-format json`), reads its
JSON events from stderr, polls the resident memory of its process tree while it runs, and
returns wall seconds, CPU seconds of all child processes (`RUSAGE_CHILDREN`), the peak
total and the peak single-process RSS, and the peaks of whatever a caller's probe reports.
A non-zero exit raises SystemExit with the last events (unless `check=False`).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def process_rss(pid: int) -> int:
    """Resident bytes of one process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0


def tree_rss(pid: int) -> tuple[int, int]:
    """Resident bytes of a process and all its descendants: total, and the largest one."""
    total, largest, stack = 0, 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                rss = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))
            total, largest = total + rss, max(largest, rss)
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    stack.extend(int(c) for c in f.read().split())
        except (OSError, StopIteration):
            continue
    return total, largest


def folder_bytes(folder: Path) -> int:
    """Bytes of the files under `folder` (0 when it does not exist)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


@dataclass
class Monitored:
    """What `run_monitored` saw: the JSON events, the exit code, wall and CPU seconds (all
    child processes), peak RSS of the process tree (total and largest single process),
    and the peak of each value the extra probe returned, by name."""

    events: list[dict]
    code: int
    wall: float
    cpu: float
    peak_rss: int
    peak_single_rss: int
    peaks: dict[str, int] = field(default_factory=dict)


def run_monitored(
    command: Sequence[str],
    *,
    extra_probe: Callable[[int], dict[str, int]] | None = None,
    interval: float = 0.2,
    cwd: Path = REPO,
    check: bool = True,
    failure: str = "curate failed",
    last_events: int = 3,
) -> Monitored:
    """Run `command` (stdout discarded, JSON log lines read from stderr) and poll its
    process tree every `interval` seconds; `extra_probe(pid)` is called on each poll and
    the peak of each value it returns is kept. With `check`, a non-zero exit raises
    SystemExit(f"{failure} (exit N): <last `last_events` events>")."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(list(command), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak, largest = 0, 0
    peaks: dict[str, int] = {}
    stop = threading.Event()

    def poll() -> None:
        nonlocal peak, largest
        while not stop.is_set():
            total, single = tree_rss(proc.pid)
            peak, largest = max(peak, total), max(largest, single)
            if extra_probe is not None:
                for name, value in extra_probe(proc.pid).items():
                    peaks[name] = max(peaks.get(name, 0), value)
            stop.wait(interval)  # returns at once when the run ends: the wall time is not rounded up to a poll

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    events = [json.loads(line) for line in proc.stderr if line.startswith("{")]
    code = proc.wait()
    wall = time.perf_counter() - started
    stop.set()
    watcher.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if check and code != 0:
        raise SystemExit(f"{failure} (exit {code}): {events[-last_events:]}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return Monitored(events, code, wall, cpu, peak, largest, peaks)

"""No process a run starts outlives it: a reaper for the local Ray curate starts.

Local worker processes exit with their parent by themselves (executors.die_with_parent),
and Ray's workers exit with the raylet, but Ray's per-node agents (dashboard and
runtime-env agents) can stay behind when the driver is SIGKILLed. So when curate starts
a local Ray it records the processes Ray started and hands them to a small reaper
process: the reaper waits until the pipe from curate closes (curate exited, however it
died) and then kills those of them still running. Linux (/proc) only; elsewhere a no-op.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


def _start_time(pid: int) -> str | None:
    """The process's start time (field 22 of /proc/PID/stat): guards against a reused PID."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    found: list[int] = []
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier and child not in found}
        found.extend(sorted(frontier))
    return found


def start_reaper(pids: list[int]) -> subprocess.Popen | None:
    """A reaper for `pids`; it acts when curate exits (or calls `release`)."""
    if not Path("/proc/self/stat").exists() or not pids:
        return None
    watched = [f"{pid}:{start}" for pid in pids if (start := _start_time(pid)) is not None]
    # Its own session: Ctrl-C in the terminal, or a signal to curate's group, must not stop it first.
    return subprocess.Popen([sys.executable, "-m", "curate.run.reaper", *watched], stdin=subprocess.PIPE, start_new_session=True)


def release(reaper: subprocess.Popen | None) -> None:
    """curate is done with the processes: the reaper kills what is left of them, now."""
    if reaper is not None:
        reaper.stdin.close()
        reaper.wait()


def _reap(watched: list[str]) -> None:
    sys.stdin.buffer.read()  # returns when curate's end of the pipe closes
    for entry in watched:
        pid, start = entry.split(":")
        if _start_time(int(pid)) == start:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass


if __name__ == "__main__":
    _reap(sys.argv[1:])

"""The runner: everything that touches files and processes.

It owns the run directory, the order of stages, shards and segments, parallelism
(executors), resume markers, accounting (rows in = kept + removed), the finish phase
that moves output into place, and the run directory's safety: one run per directory
(lock), the marker that says what curate may delete (rundir), what a fixed rerun keeps
(reuse), and no process outliving a run (reaper). Stages never import from here: the runner hands them
frames, and whole-dataset stages a `tasks` callable (curate/tasks.py).
"""

from typing import Any

__all__ = ["RunOptions", "run_pipeline"]


def __getattr__(name: str) -> Any:
    # Lazy, so importing one module of the runner does not import all of it.
    if name in __all__:
        from curate.run import runner

        return getattr(runner, name)
    raise AttributeError(name)

"""curate's own exceptions. Each carries the exit code the CLI returns for it.

Exit codes (documented in docs/run-layout.md):
  0  success
  1  internal error (a bug in curate: please report it)
  2  usage or pipeline-file error
  3  input data error
  4  output directory error (cannot write, or holds another run)
  5  a gate failed: the run finished and its data is written (docs/scheduling.md)
"""

GATE_FAILED = 5
"""Exit code of a finished run that failed one of its pipeline's `gates:`."""


class CurateError(Exception):
    """An error a user can act on. The message is one line: what is wrong, where, and what to do."""

    exit_code = 1


class ConfigError(CurateError):
    exit_code = 2


class InputDataError(CurateError):
    exit_code = 3


class OutputError(CurateError):
    exit_code = 4

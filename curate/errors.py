"""curate's own exceptions. Each carries the exit code the CLI returns for it.

Exit codes (documented in docs/run-layout.md):
  0  success
  1  internal error (a bug in curate: please report it)
  2  usage or pipeline-file error
  3  input data error
  4  output directory error (cannot write, or holds another run)
  5  a gate failed: the run finished and its data is written (docs/scheduling.md)
  137 a worker process was killed (out of memory, say); the run resumes when run again
"""

import difflib
from collections.abc import Iterable
from pathlib import Path

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


class WorkerLost(CurateError):
    """A worker process died without a word: killed by a signal (the kernel's
    out-of-memory killer, a kill of its PID). The environment, not curate, stopped it;
    like a SIGKILL of the main process (128 + 9), the run resumes when run again."""

    exit_code = 137

    def __init__(self, cause: str = "out of memory? the kernel's log says: dmesg | grep -i oom") -> None:
        super().__init__(f"a worker process was killed ({cause}); run the same command again to resume, with fewer --workers if memory is short")


class StorageError(OutputError):
    """The file system refused a write, rename or delete (disk full, read-only, no
    permission, a path that vanished): the environment, not curate, needs fixing. The
    message's advice may name `--output` (curate run's); `without_output` is the same
    error for a command that has none (report, show, evaluate)."""

    def __init__(self, message: str, without_output: str | None = None):
        super().__init__(message)
        self.without_output = without_output or message


_CAUSES = {
    "ENOSPC": ("the disk is full", "free space or choose another --output", "free space"),
    "EDQUOT": ("the disk quota is exhausted", "free space or choose another --output", "free space"),
    "EROFS": ("the file system is read-only", "choose a writable --output", "make it writable"),
    "EACCES": ("permission denied", "fix the permissions or choose another --output", "fix the permissions"),
    "EPERM": ("operation not permitted", "fix the permissions or choose another --output", "fix the permissions"),
    "ENOENT": ("the path vanished while curate was using it", "was it deleted or unmounted?", "was it deleted or unmounted?"),
    "EIO": ("an I/O error", "check the disk", "check the disk"),
    "EFBIG": ("the file exceeds the file-size limit (ulimit -f, or the file system's largest file)",
              "raise the limit or choose another --output", "raise the limit"),
    "EMFILE": ("too many open files for this process", "raise the limit (ulimit -n)", "raise the limit (ulimit -n)"),
    "ENFILE": ("too many open files on this machine", "close other programs' files or raise the system's limit",
               "close other programs' files or raise the system's limit"),
    "ENAMETOOLONG": ("the path is too long for the file system", "choose a shorter --output", "use a shorter path"),
    "ELOOP": ("a symlink loop (links that lead to each other)", "fix the link or choose another --output", "fix the link"),
    "EISDIR": ("a folder is where curate writes a file", "move it away or choose another --output", "move it away"),
    "ENOTDIR": ("a file is where curate needs a folder", "move it away or choose another --output", "move it away"),
    "ESTALE": ("a stale network file handle (the share was remounted, or the path deleted on the server)", "check the mount", "check the mount"),
    "EBUSY": ("the path is busy (a mount point, or held by another program)", "choose another --output",
              "free it (unmount it, or stop the program holding it)"),
}
"""The file system errors curate names (an environment or a path to fix, exit 4): the
cause, the advice for `curate run` (which has --output) and for a command without it. Any
other OSError is a bug until shown otherwise."""


def storage_error(exc: BaseException, path: object) -> StorageError | None:
    """A StorageError naming `path` and the cause, when `exc` is one of the file system
    errors above (an OSError, or a polars/pyarrow error carrying `os error N`); else None."""
    import errno
    import re

    number = exc.errno if isinstance(exc, OSError) else None
    if number is None:
        found = re.search(r"os error (\d+)|\[Errno (\d+)\]", str(exc))
        number = int(found.group(1) or found.group(2)) if found else None
    name = errno.errorcode.get(number or -1)
    if name not in _CAUSES:
        return None
    where = path if path is not None else getattr(exc, "filename", None)
    cause, with_output, without_output = _CAUSES[name]
    said = [f"{cause}: {advice} ({name})" for advice in (with_output, without_output)]
    return StorageError(*(f"{where}: {one}" if where is not None else one for one in said))


def resolved(path: str | Path, role: str, error: type[CurateError], instead: str, keep_name: bool = False) -> Path:
    """`Path(path).resolve()`: absolute, links followed. A symlink loop (links that lead
    to each other, which Python before 3.13 raises as RuntimeError) is `error`: one line
    naming the `role` and path, and what to do `instead` of the loop. `keep_name`: a
    path that is a link keeps its own name (its folders resolved), which says what the
    file is where the target's may not (the Hugging Face hub cache's blobs, named by hash)."""
    try:
        full = Path(path).resolve()
    except RuntimeError:
        raise error(f"{role} {path} is a symlink loop (links that lead to each other); fix the link or {instead}") from None
    return Path(path).parent.resolve() / Path(path).name if keep_name and Path(path).is_symlink() else full


class ManyErrors(CurateError):
    """Several errors found at once (`curate check`, the checks before a run): one line
    each. The exit code is the most basic one among them (a pipeline error before an
    input error), since fixing the pipeline may change what the input needs."""

    def __init__(self, errors: list[CurateError]):
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors
        self.exit_code = min(e.exit_code for e in errors)


def raise_all(errors: list[CurateError]) -> None:
    """Raise nothing, the one error, or every error at once."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ManyErrors(errors)


def did_you_mean(given: object, valid: Iterable[object]) -> str:
    """` (did you mean `threshold`?)` for a near miss, else nothing."""
    close = difflib.get_close_matches(str(given), [str(v) for v in valid], n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""


def percent_apart(share: float, other: float | None = None) -> str:
    """A share as a percentage with one decimal, more where it would print the same as
    `other` (the limit it is judged by: "50.0%, limit 50.0%" says nothing)."""
    digits = 1
    while other is not None and share != other and digits < 12 and f"{share * 100:.{digits}f}" == f"{other * 100:.{digits}f}":
        digits += 1
    return f"{share * 100:.{digits}f}%"


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none): what
    one line of an error can quote of a library's."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

"""Executors run shard jobs: in this process, in a pool of local worker processes, or
as Ray tasks. They only decide where `run_shard` runs; every job writes the same files
wherever it runs, so the output is identical whichever executor is used."""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import logging
import multiprocessing
import os
import signal
import socket
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import resource_tracker
from typing import Any, Protocol

from curate.errors import ConfigError, WorkerLost, first_line
from curate.extras import install_command
from curate.run.reaper import descendants, release, start_reaper
from curate.tasks import in_order

Job = Any
Result = tuple[int, dict[str, Any]]


class Executor(Protocol):
    def map(self, work: Callable[[Job], dict[str, Any]], jobs: list[Job]) -> Iterator[Result]:
        """Run `work` on every job; yield (shard, result) as each finishes."""

    def tasks(self, work: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        """`[work(item) for item in items]`, the calls run in parallel where they can."""

    def close(self, abort: bool = False) -> None:
        """Release the workers; `abort`: stop running jobs at once (the run is failing)."""

    @property
    def serial(self) -> bool:
        """Jobs run one after another in this process, in the order given."""


class LocalExecutor:
    """Worker processes on this machine (spawned, so no state leaks from the parent).
    One pool serves the whole run: worker start-up is paid once."""

    def __init__(self, workers: int):
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    @property
    def serial(self) -> bool:
        return self.workers == 1

    def map(self, work: Callable[[Job], dict[str, Any]], jobs: list[Job]) -> Iterator[Result]:
        if self.serial or len(jobs) < 2:
            for job in jobs:
                yield job.shard, work(job)
            return
        pool = self._start()
        with _stop_signals_held():  # a submit may start a worker
            pending = {pool.submit(work, job): job.shard for job in jobs}
        while pending:
            done, _ = wait(pending, return_when=FIRST_EXCEPTION)
            for future in sorted(done, key=lambda f: pending[f]):
                shard = pending.pop(future)
                if future.exception() is not None:
                    for other in pending:
                        other.cancel()
                    raise _named(future.exception())
                yield shard, future.result()

    def tasks(self, work: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        if self.serial or len(items) < 2:
            return in_order(work, items)
        pool = self._start()
        with _stop_signals_held():
            futures = [pool.submit(work, item) for item in items]
        try:
            return [future.result() for future in futures]
        except BrokenProcessPool as error:
            raise _named(error) from None

    def _start(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # The pool's queues register their semaphores with multiprocessing's resource
            # tracker, a process that outlives a main process a scheduler kills (SIGKILL),
            # removes what it left and warns of "leaked semaphore objects" on the run's
            # stderr: a line that is not JSON under --log-format json. Started here (if
            # it is not yet) without that warning; its cleanup is the same. It ignores
            # SIGINT and SIGTERM but not SIGHUP, which a closed terminal sends the whole
            # process group: started with the stop signals held, it keeps SIGHUP blocked
            # (the pool's shutdown would otherwise relaunch it and print its tracebacks).
            with _environment("PYTHONWARNINGS", ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), "ignore:resource_tracker:UserWarning"]))), _stop_signals_held():
                resource_tracker.ensure_running()
            # Each worker's polars gets its share of the cores, not all of them.
            with _environment("POLARS_MAX_THREADS", str(max(1, (os.cpu_count() or 1) // self.workers))):
                self._pool = ProcessPoolExecutor(
                    self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=die_with_parent, initargs=(os.getpid(),)
                )
                with _stop_signals_held():
                    started = self._pool.submit(int)
                started.result()  # start the workers while the variable is set
        return self._pool

    def close(self, abort: bool = False) -> None:
        if self._pool is None:
            return
        if abort:
            for process in list(self._pool._processes.values()):  # no public way before Python 3.14
                process.kill()
        self._pool.shutdown(cancel_futures=True)
        self._pool = None


def _named(error: BaseException) -> BaseException:
    """A worker that died without a word (SIGKILL, the OOM killer) breaks the pool: say
    so, rather than report curate's own bug."""
    return WorkerLost() if isinstance(error, BrokenProcessPool) else error


@contextlib.contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    """The environment variable `name` set to `value` for the processes started meanwhile."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


PR_SET_PDEATHSIG = 1
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


@contextlib.contextmanager
def _stop_signals_held() -> Iterator[None]:
    """Spawn workers with the stop signals blocked: a Ctrl-C reaches the whole process
    group, and a worker still starting its interpreter would die of it with a traceback.
    The worker inherits the mask (its initializer sets its own dispositions); the main
    process gets a signal that came meanwhile as soon as the spawn is done."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def die_with_parent(parent: int) -> None:
    """Worker initializer: the worker exits when the main process dies, however it dies
    (SIGKILL included), instead of holding memory and writing into `_work/`. On Linux the
    kernel sends SIGKILL (prctl PR_SET_PDEATHSIG); elsewhere a thread watches the parent.
    Ctrl-C is the main process's to handle (it stops the workers): a worker ignores it;
    SIGTERM and SIGHUP, held while it started, end it as usual."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl")
    except (OSError, AttributeError):
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="curate-parent-watch").start()
    if os.getppid() != parent:  # it died before the kernel was told
        os._exit(1)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def require_ray(address: str | None) -> None:
    """ConfigError unless Ray is installed (found without importing it: a second), a
    local Ray's sockets fit under its temporary folder, and the cluster at `address`
    answers, in gRPC: Ray itself waits minutes for an address where nothing listens or
    something else answers, and Ray Client (`ray://`) needs a package Ray does not bring."""
    if importlib.util.find_spec("ray") is None:
        raise ConfigError(f"--executor ray needs Ray: {install_command(['ray'], ['ray'])}")
    if address in (None, "local"):  # Ray's own word for starting a new local Ray
        _require_socket_room()
        return
    if address == "auto":  # Ray's own word: join this machine's cluster
        return
    if address.startswith("ray://") and importlib.util.find_spec("grpc") is None:
        raise ConfigError(
            f"--ray-address {address}: Ray Client needs pip install 'ray[client]' "
            "(or run curate on a node of the cluster with --ray-address auto)"
        )
    try:  # a port that is not a number, a bracketed host that is not IPv6: ValueError
        parts = urllib.parse.urlsplit(address if "://" in address else f"//{address}")
        host, port = parts.hostname, parts.port or (10001 if address.startswith("ray://") else 6379)
    except ValueError:
        host = port = None
    if host is None:
        raise ConfigError(f"--ray-address {address}: not an address; give auto, HOST:PORT or ray://HOST:PORT")
    try:
        with socket.create_connection((host, port), timeout=_RAY_CONNECT_SECONDS) as connection:
            speaks_grpc = _speaks_http2(connection)
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        raise ConfigError(
            f"--ray-address {address}: no Ray cluster answers there ({reason.lower()}); "
            "start it (ray start --head) or fix the address"
        ) from None
    if not speaks_grpc and os.environ.get("RAY_USE_TLS", "0") in ("", "0"):  # a TLS cluster answers the preface with TLS
        raise ConfigError(
            f"--ray-address {address}: something other than Ray answers there (not gRPC: "
            "the dashboard's port, a web server?); give the cluster's address as ray start printed it (HOST:6379, or ray://HOST:10001)"
        )


def _require_socket_room() -> None:
    """ConfigError when a local Ray's Unix sockets would not fit their 107-byte path limit
    under Ray's temporary folder (a long per-job TMPDIR on an HPC node): Ray would refuse
    to start only after the run directory is made. The path is Ray 2.60's longest socket:
    RAY_TMPDIR/ray/session_<date>_<time>_<microseconds>_<driver's PID>/sockets/plasma_store."""
    try:
        from ray._common.utils import get_default_ray_temp_dir  # RAY_TMPDIR, else TMPDIR, else /tmp
    except ImportError:  # another Ray's layout: its own start failure is named by RayExecutor
        return
    session = f"session_{time.strftime('%Y-%m-%d_%H-%M-%S')}_000000_{os.getpid()}"
    socket_path = os.path.join(get_default_ray_temp_dir(), session, "sockets", "plasma_store")
    if len(socket_path.encode()) > _UNIX_SOCKET_PATH_BYTES:
        raise ConfigError(
            f"--executor ray: a local Ray cannot start under {get_default_ray_temp_dir()}: its socket paths would be "
            f"{len(socket_path.encode())} bytes, past a Unix socket's {_UNIX_SOCKET_PATH_BYTES}; set RAY_TMPDIR to a short folder (RAY_TMPDIR=/tmp)"
        )


_UNIX_SOCKET_PATH_BYTES = 107
"""The longest path a Unix socket may have on Linux (108 bytes with the final NUL)."""

_RAY_CONNECT_SECONDS = 10
"""How long `require_ray` waits for a cluster's port to accept a connection and answer."""

_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
"""What an HTTP/2 client sends first: the connection preface and an empty SETTINGS frame."""


def _speaks_http2(connection: socket.socket) -> bool:
    """Whether the server answers an HTTP/2 preface with a SETTINGS frame, as Ray's GCS
    and Ray Client servers (gRPC) do: something else at the address (the dashboard's
    port, a web server) left Ray retrying for minutes, after the run directory was made."""
    try:
        connection.sendall(_HTTP2_PREFACE)
        head = b""
        while len(head) < 9 and (block := connection.recv(9 - len(head))):
            head += block
    except OSError:  # a timeout, or a server that closed the connection on the preface
        return False
    return len(head) == 9 and head[3] == 4  # a frame header whose type is SETTINGS


_RAY_NOT_STARTED = (
    "--executor ray: a local Ray could not start ({error}); fix that, or run with the "
    "local executor (without --executor ray)"
)

_RAY_UNREACHABLE = (
    "could not join the Ray cluster at {address} ({error}); a cluster started with token "
    "authentication also needs RAY_AUTH_MODE=token and its token on this machine (docs/ray.md)"
)


@contextlib.contextmanager
def _ray_core_lines_held() -> Iterator[None]:
    """Standard error (file descriptor 2) into a file meanwhile. Ray's C++ core writes a
    join's retries straight to it, a line a second for 20 s against a cluster that wants
    a token: lines that are not JSON under --log-format json. They are dropped when the
    join fails (ConnectionError: curate's one line says why) and written out otherwise."""
    sys.stderr.flush()
    stderr = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        failed = False
        try:
            yield
        except ConnectionError:
            failed = True
            raise
        finally:
            sys.stderr.flush()
            os.dup2(stderr, 2)
            os.close(stderr)
            if not failed:
                held.seek(0)
                os.write(2, held.read())


@contextlib.contextmanager
def ray_errors(ray: Any) -> Iterator[None]:
    """A task's own error as itself; a task whose process or node died (Ray's memory
    monitor killed it, the kernel's OOM killer, a kill, a lost node) as WorkerLost, exit
    137, as a local worker's death is: the environment stopped it, not curate."""
    lost = (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError, ray.exceptions.LocalRayletDiedError)
    try:
        yield
    except ray.exceptions.RayTaskError as error:
        raise error.cause from None
    except ray.exceptions.OutOfMemoryError as error:
        raise WorkerLost("out of memory: Ray's memory monitor stopped it") from error
    except lost as error:
        raise WorkerLost() from error


class RayExecutor:
    """Shard jobs as Ray tasks, one CPU each. `address=None` (or Ray's `local`) starts a
    local Ray with `workers` CPUs; `auto`, `HOST:PORT` or `ray://…` joins a running cluster, whose workers must
    have curate installed and see the input and run directory at the same paths."""

    def __init__(self, address: str | None, workers: int):
        require_ray(address)
        import ray

        self.ray = ray
        self._started_here = False
        if not ray.is_initialized():
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            # Ray's start-up notices would land on stderr, which `--log-format json` keeps for JSON lines.
            logging.getLogger("ray").setLevel(logging.ERROR)
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
            if address in (None, "local"):
                options["num_cpus"] = workers
            # Ray installs its own SIGTERM handler (a stack dump, then SIGABRT): a scheduler's
            # stop must stay curate's one line and exit 143, and leave the run resumable
            handlers = {received: signal.getsignal(received) for received in STOP_SIGNALS}
            joining = address not in (None, "local")
            try:
                with _ray_core_lines_held() if joining else contextlib.nullcontext():
                    ray.init(address=address, **options)
            except Exception as error:
                if joining and not isinstance(error, ConnectionError):
                    raise
                if joining:
                    raise ConfigError(_RAY_UNREACHABLE.format(address=address, error=str(error).rstrip("."))) from None
                # A local Ray that cannot start is the environment's (a file-size limit, a full
                # disk, a node that timed out): what Ray started of it must not stay behind.
                release(start_reaper(descendants(os.getpid())))
                raise ConfigError(_RAY_NOT_STARTED.format(error=first_line(error).rstrip("."))) from None
            finally:
                for received, handler in handlers.items():
                    if handler is not None:
                        signal.signal(received, handler)
            self._started_here = True
        self._local = self._started_here and address in (None, "local")
        # A local Ray's processes are this process's children: they must not outlive it.
        self._reaper = start_reaper(descendants(os.getpid())) if self._local else None
        self._running: list[Any] = []
        """Tasks submitted and not yet returned: on a cluster, an aborted run cancels them."""

    serial = False

    def map(self, work: Callable[[Job], dict[str, Any]], jobs: list[Job]) -> Iterator[Result]:
        ray = self.ray
        remote = ray.remote(num_cpus=1, max_retries=0)(work)
        shards = {remote.remote(job): job.shard for job in jobs}
        pending = self._running = list(shards)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            self._running = pending
            for ref in done:
                with ray_errors(ray):  # the runner closes the executor, which stops the others
                    result = ray.get(ref)
                yield shards[ref], result

    def tasks(self, work: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        ray = self.ray
        remote = ray.remote(num_cpus=1, max_retries=0)(work)
        self._running = [remote.remote(item) for item in items]
        with ray_errors(ray):
            return ray.get(self._running)

    def close(self, abort: bool = False) -> None:
        # Only a cluster's tasks need cancelling (they would go on writing into _work/): a
        # local Ray's shutdown stops them, and cancelling them first races with a task
        # finishing, which fails a check inside Ray (2.60) and ends the process with exit 1.
        if abort and not self._local:
            for ref in self._running:
                with contextlib.suppress(Exception):  # finished or gone already: nothing to stop
                    self.ray.cancel(ref, force=True)
        self._running = []
        if self._started_here:
            self.ray.shutdown()  # stops the local Ray's processes and with them any running task
            release(self._reaper)

"""The Ray executor gives the local executor's output, row for row, and resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import ray
from runs import (
    assert_reconciles,
    assert_same_output,
    cli,
    kill_mid_run,
    slow_run_and_reference,
)

from curate.config import load_pipeline
from curate.console import Reporter
from curate.run.runner import RunOptions, run_pipeline

REPO = Path(__file__).resolve().parent.parent
PIPELINES = sorted((REPO / "pipelines").glob("*.yaml"))


@pytest.fixture(scope="module")
def local_ray():
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


ROWS = 4000
"""The first rows of each shipped pipeline's input: enough that every stage has work on
both executors (web_text: each removing stage removes rows, near_dedup one, and line_dedup
and overlap change 977 and 191 rows; classification: 5 near copies, 109 label issues),
in a third of the time of the whole inputs (36,542 and 11,314 rows: 176 s of the
suite on a slow host, now 59)."""


@pytest.mark.parametrize("pipeline", PIPELINES, ids=[p.stem for p in PIPELINES])
def test_ray_matches_local_row_for_row(pipeline, tmp_path, local_ray, request):
    spec = load_pipeline(pipeline)
    if any("/shared/data/" in path for path in spec.input.path):
        request.getfixturevalue("shared_data")  # skipped with its reason only outside CI
    local = run_pipeline(spec, tmp_path / "local", RunOptions(workers=2, limit=ROWS), Reporter())
    on_ray = run_pipeline(spec, tmp_path / "ray", RunOptions(workers=2, executor="ray", limit=ROWS), Reporter())
    assert on_ray.manifest["rows_kept"] == local.manifest["rows_kept"]
    assert_reconciles(on_ray.output)
    assert_same_output(on_ray.output, local.output)


def ray_workers(parent: int) -> list[int]:
    """PIDs of the Ray worker processes (`ray::…`) of the local Ray that `parent` started."""
    found = subprocess.run(["pgrep", "-f", "^ray::"], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found if _descends(int(pid), parent)]


def _descends(pid: int, parent: int) -> bool:
    while pid > 1:
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return False
        if pid == parent:
            return True
    return False


def test_a_killed_run_resumes_on_ray(tmp_path):
    pipeline, reference = slow_run_and_reference(tmp_path, [{"stage": "length_filter", "min_words": 2}, {"stage": "exact_dedup"}])
    target = tmp_path / "killed"
    kill_mid_run(pipeline, target, shards=24)
    # a Ray worker killed without a word (the OOM killer): one line, exit 137, not "internal error"
    command = [sys.executable, "-m", "curate", "run", str(pipeline), "--output", str(target), "--executor", "ray", "--workers", "2"]
    markers = target / "_work" / "markers" / "seg-00"
    done = len(list(markers.glob("part-*.json")))
    crashing = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(list(markers.glob("part-*.json"))) <= done and time.monotonic() < deadline and crashing.poll() is None:
        time.sleep(0.01)
    for pid in ray_workers(crashing.pid):
        os.kill(pid, signal.SIGKILL)
    stderr = crashing.communicate(timeout=60)[1]
    assert crashing.returncode == 137 and stderr.strip().splitlines()[-1].startswith("error: a worker process was killed"), stderr[-2000:]
    # stopped by a scheduler while on Ray: Ray's own SIGTERM handler (a stack dump, then
    # SIGABRT) must not replace curate's
    running = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    done = len(list(markers.glob("part-*.json")))
    deadline = time.monotonic() + 120
    while len(list(markers.glob("part-*.json"))) <= done and time.monotonic() < deadline and running.poll() is None:
        time.sleep(0.01)
    running.send_signal(signal.SIGTERM)
    stderr = running.communicate(timeout=60)[1]
    assert running.returncode == 143 and stderr.strip().splitlines()[-1] == "error: stopped by SIGTERM; run the same command again to resume", stderr[-2000:]
    resumed = cli("run", str(pipeline), "--output", str(target), "--executor", "ray", "--workers", "2")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stderr
    assert_same_output(target, reference.output)


@pytest.mark.parametrize("received", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_stop_signal_while_waiting_on_ray_tasks_is_that_signal(received, local_ray, capsys):
    # ray.get catches the handler's Stopped and raises a bare KeyboardInterrupt in its place:
    # a scheduler's SIGTERM while overlap's tasks ran was "interrupted", exit 130 (Ctrl-C's)
    import typer

    from curate.cli import _one_line_errors, _stop_on_signals
    from curate.run.executors import RayExecutor

    driver = os.getpid()

    def signal_the_waiting_driver(_: int) -> None:
        time.sleep(0.5)  # the driver is in ray.get by now
        os.kill(driver, received)
        time.sleep(60)

    executor = RayExecutor(None, 2)
    try:
        with pytest.raises(typer.Exit) as ended, _stop_on_signals(), _one_line_errors():
            executor.tasks(signal_the_waiting_driver, [0])
    finally:
        executor.close(abort=True)
    assert ended.value.exit_code == 128 + received.value
    assert capsys.readouterr().err.strip() == f"error: stopped by {received.name}; run the same command again to resume"


def test_ray_core_lines_of_a_failed_join_stay_off_stderr(monkeypatch, capfd):
    # Ray's C++ core wrote ~20 retry lines straight to file descriptor 2 before curate's
    # JSON error event when a cluster wanted a token: --log-format json was not all JSON
    from curate.errors import ConfigError
    from curate.run import executors

    def join_without_token(address, **options):
        os.write(2, b"[2026-12-04 00:23:36,999 W 25613 25613] gcs_client.cc:210: Failed to get cluster ID from GCS server: Unauthenticated\n")
        raise ConnectionError("Failed to connect to Ray cluster at 192.0.2.2:6393.")

    monkeypatch.setattr(executors, "require_ray", lambda address: None)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", join_without_token)
    with pytest.raises(ConfigError) as refused:
        executors.RayExecutor("127.0.0.1:6393", 2)
    assert str(refused.value).startswith("could not join the Ray cluster at 127.0.0.1:6393 (Failed to connect to Ray cluster at 192.0.2.2:6393); ")
    assert capfd.readouterr().err == ""


def test_missing_ray_says_how_to_install_before_touching_the_output(tmp_path, monkeypatch):
    import importlib.util

    from curate.errors import ConfigError

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real_find_spec(name, *a))
    pipeline = load_pipeline(PIPELINES[0])
    with pytest.raises(ConfigError, match=r"^--executor ray needs Ray: pip install ray \(or pip install -e '\.\[ray\]' from curate's folder\)$"):
        run_pipeline(pipeline, tmp_path / "runs" / "x", RunOptions(executor="ray"), Reporter())
    assert not (tmp_path / "runs").exists()


def test_a_local_ray_whose_sockets_would_not_fit_is_named_before_touching_the_output(tmp_path, monkeypatch):
    # a long per-job TMPDIR (HPC nodes): Ray refused its socket path once the run directory
    # was made, and curate said "internal error at utils.py:1760: OSError …", exit 1
    from curate.errors import ConfigError

    ray_temp = tmp_path / ("t" * 80)
    monkeypatch.setenv("RAY_TMPDIR", str(ray_temp))
    pipeline = load_pipeline(PIPELINES[0])
    with pytest.raises(ConfigError) as refused:
        run_pipeline(pipeline, tmp_path / "runs" / "x", RunOptions(executor="ray"), Reporter())
    socket_bytes = len(f"{ray_temp}/ray/session_2026-12-04_00-29-21_000000_{os.getpid()}/sockets/plasma_store".encode())
    assert str(refused.value) == (
        f"--executor ray: a local Ray cannot start under {ray_temp}/ray: its socket paths would be {socket_bytes} bytes, "
        "past a Unix socket's 107; set RAY_TMPDIR to a short folder (RAY_TMPDIR=/tmp)"
    )
    assert not (tmp_path / "runs").exists()


def test_a_local_ray_that_cannot_start_is_the_environments_not_an_internal_error(tmp_path, monkeypatch):
    # Ray's own failure to start (here: its temporary folder is under a file; a file-size
    # limit or a node that timed out alike) was "internal error … please report it", exit 1
    (tmp_path / "file").touch()
    monkeypatch.setenv("RAY_TMPDIR", "file")  # relative: the sockets' paths fit
    result = cli("run", str(REPO / "pipelines" / "demo.yaml"), "--output", str(tmp_path / "runs" / "x"), "--executor", "ray", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        "error: --executor ray: a local Ray could not start ([Errno 20] Not a directory: 'file/ray'); "
        "fix that, or run with the local executor (without --executor ray)"
    )


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_ray_address_where_nothing_answers_is_named_at_once_before_touching_the_output(tmp_path):
    # Ray itself retries such an address for minutes (3.4 measured) and then fails as an internal error
    address = f"127.0.0.1:{_free_port()}"
    started = time.monotonic()
    result = cli("run", str(PIPELINES[0]), "--output", str(tmp_path / "runs" / "x"), "--executor", "ray", "--ray-address", address)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: --ray-address {address}: no Ray cluster answers there (connection refused); start it (ray start --head) or fix the address"
    )
    assert time.monotonic() - started < 30 and not (tmp_path / "runs").exists()


def test_a_ray_address_where_something_else_answers_is_named_at_once_before_touching_the_output(tmp_path):
    # Ray retried a web server's port (the dashboard's, say) for more than 400 s, after making the run directory
    import http.server
    import threading

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    address = f"127.0.0.1:{server.server_address[1]}"
    try:
        result = cli("run", str(PIPELINES[0]), "--output", str(tmp_path / "runs" / "x"), "--executor", "ray", "--ray-address", address)
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: --ray-address {address}: something other than Ray answers there (not gRPC: the dashboard's port, a web server?); "
        "give the cluster's address as ray start printed it (HOST:6379, or ray://HOST:10001)"
    )
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("ray://127.0.0.1:10001", "--ray-address ray://127.0.0.1:10001: Ray Client needs pip install 'ray[client]' (or run curate on a node of the cluster with --ray-address auto)"),
        ("head:x:", "--ray-address head:x:: not an address; give auto, HOST:PORT or ray://HOST:PORT"),
    ],
)
def test_a_ray_address_curate_cannot_use_says_what_to_do(tmp_path, monkeypatch, address, message):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "grpc" else real_find_spec(name, *a))
    from curate.errors import ConfigError
    from curate.run.executors import require_ray

    with pytest.raises(ConfigError) as raised:
        require_ray(address)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            ray.exceptions.OutOfMemoryError("2 worker(s) were killed due to the node running low on memory."),
            "a worker process was killed (out of memory: Ray's memory monitor stopped it); "
            "run the same command again to resume, with fewer --workers if memory is short",
        ),
        (
            ray.exceptions.WorkerCrashedError(),
            "a worker process was killed (out of memory? the kernel's log says: dmesg | grep -i oom); "
            "run the same command again to resume, with fewer --workers if memory is short",
        ),
    ],
)
def test_a_ray_task_killed_for_memory_is_a_lost_worker_not_an_internal_error(error, message):
    # Ray's memory monitor, not the kernel, kills a task first: exit 137 as a killed local worker
    from curate.errors import WorkerLost
    from curate.run.executors import ray_errors

    with pytest.raises(WorkerLost) as raised, ray_errors(ray):
        raise error
    assert str(raised.value) == message and raised.value.exit_code == 137


@pytest.mark.parametrize("address", [None, "auto", "local"])
def test_ray_own_address_words_pass_the_address_check(address):
    from curate.run.executors import require_ray

    require_ray(address)  # auto: Ray finds this machine's cluster itself; local: a new local Ray


def test_an_error_line_prints_what_the_user_typed_not_emoji_or_markup(tmp_path):
    result = cli("run", str(PIPELINES[0]), "--output", str(tmp_path / "x"), "--executor", "ray", "--ray-address", "[b]head:x:")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --ray-address [b]head:x:: not an address; give auto, HOST:PORT or ray://HOST:PORT"


def test_json_log_on_ray_is_only_json(tmp_path):
    result = cli("run", str(REPO / "pipelines" / "demo.yaml"), "--output", str(tmp_path / "r"), "--executor", "ray", "--log-format", "json")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stderr.splitlines()]  # every line is JSON
    assert events[-1]["event"] == "run_finished" and events[-1]["rows_in"] == 4000


def test_whole_dataset_steps_run_as_ray_tasks(tmp_path, local_ray, monkeypatch):
    from curate.run.executors import RayExecutor, require_ray

    require_ray(ray.get_runtime_context().gcs_address)  # a cluster's own address passes the check that it speaks gRPC

    calls: list[tuple[str, int]] = []
    real = RayExecutor.tasks

    def recording(self, work, items):
        calls.append((work.__name__, len(items)))
        return real(self, work, items)

    monkeypatch.setattr(RayExecutor, "tasks", recording)
    spec = load_pipeline(REPO / "pipelines" / "demo.yaml")
    result = run_pipeline(spec, tmp_path / "ray", RunOptions(workers=2, executor="ray"), Reporter())
    assert result.status == "complete"
    # exact dedup by hash partition, near-dup candidates per LSH band, their rows copied
    # to the scratch folder per shard (Ray tasks write it), verified, clustered, label-noise folds
    assert ("_decide_partition", 16) in calls and ("_fit_fold", 5) in calls
    assert any(name == "_band_pairs" and n > 1 for name, n in calls)
    assert any(name == "_copy_rows" and n > 1 for name, n in calls) and any(name == "_verify_pairs" for name, _ in calls)
    # clusters: rounds of at least two tasks over partitions of the verified edges
    assert [n for name, n in calls if name == "_label_round"].count(2) >= 2

"""Object storage in and out, against a real S3-compatible server (moto's server mode,
started here on 127.0.0.1 with IAM authentication on, stopped at the end): JSONL.gz and
Parquet read from a bucket, the run uploaded to a bucket with the manifest last, an upload
killed midway finished by running again, and wrong credentials or a missing bucket or
key stopped with one line before any output."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3  # with moto[server] and s3fs, from the test extra
import polars as pl
import pytest
import yaml
from runs import read_dir

BUCKET_IN, BUCKET_OUT = "curate-in", "curate-out"
STAGES = [{"stage": "length_filter", "min_words": 3}, {"stage": "exact_dedup"}]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A moto S3 server on 127.0.0.1 that checks credentials: the first three requests
    (creating a user, its policy and its key) are the only unauthenticated ones."""
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3"}
    with log.open("w") as sink:
        server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env, stdout=sink, stderr=sink)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, log.read_text()
                time.sleep(0.1)
        endpoint = f"http://127.0.0.1:{port}"
        iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup")
        iam.create_user(UserName="curate")
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        iam.put_user_policy(UserName="curate", PolicyName="all", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName="curate")["AccessKey"]
        env = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"], "AWS_DEFAULT_REGION": "us-east-1"}
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
        client.create_bucket(Bucket=BUCKET_IN)
        client.create_bucket(Bucket=BUCKET_OUT)
        yield {"env": env, "client": client}
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def corpus(files: int, rows: int) -> list[pl.DataFrame]:
    texts = ["The quick brown fox jumps over the lazy dog.", "too short", "Ein Satz auf Deutsch, mit Umlauten: äöü ß.", "",
             "Numbers 1, 2 and 3 are listed here for the count.", "A sentence that is unique to row {n} of the corpus."]
    return [
        pl.DataFrame({"id": [f"f{f:03d}-{r:03d}" for r in range(rows)], "text": [texts[(f + r) % len(texts)].format(n=f * rows + r) for r in range(rows)]})
        for f in range(files)
    ]


def put_corpus(s3, frames: list[pl.DataFrame], prefix: str, local: Path) -> None:
    """Half the files as JSONL.gz, half as Parquet, in the bucket and (for the reference run) on disk."""
    local.mkdir(parents=True)
    for i, frame in enumerate(frames):
        if i % 2:
            name, body = f"part-{i:03d}.parquet", io.BytesIO()
            frame.write_parquet(body)
            data = body.getvalue()
        else:
            name = f"part-{i:03d}.jsonl.gz"
            data = gzip.compress("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in frame.iter_rows(named=True)).encode())
        s3["client"].put_object(Bucket=BUCKET_IN, Key=f"{prefix}/{name}", Body=data)
        (local / name).write_bytes(data)
    s3["client"].put_object(Bucket=BUCKET_IN, Key=f"{prefix}/_SUCCESS", Body=b"")


def curate(folder: Path, s3, *args: str, env: dict | None = None, wait: bool = True):
    """`curate run` with the store's endpoint and credentials in the environment, as a
    user's shell has them: in this process (the command-line entry, its one-line errors
    and exit codes), or, with wait=False, as a separate process to kill."""
    spec = {"input": {"path": "in", "id_column": "id"}, "output": "run", "stages": STAGES}
    (folder / "pipeline.yaml").write_text(yaml.safe_dump(spec))
    arguments = ["run", str(folder / "pipeline.yaml"), "--workers", "1", "--quiet", *args]
    environment = {**s3["env"], "XDG_CACHE_HOME": str(folder / "cache"), **(env or {})}
    if not wait:
        return subprocess.Popen([sys.executable, "-m", "curate", *arguments], env={**os.environ, **environment}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import s3fs
    from typer.testing import CliRunner

    from curate.cli import app

    s3fs.S3FileSystem.clear_instance_cache()  # credentials come from the environment each run, as in a new shell
    return CliRunner(env=environment).invoke(app, arguments)


def remote_run(s3, prefix: str, target: Path) -> Path:
    """Download a run directory from the bucket."""
    listing = s3["client"].list_objects_v2(Bucket=BUCKET_OUT, Prefix=prefix + "/")
    for item in listing.get("Contents", []):
        path = target / item["Key"][len(prefix) + 1:]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(s3["client"].get_object(Bucket=BUCKET_OUT, Key=item["Key"])["Body"].read())
    return target


def outcome(run_dir: Path) -> tuple[list[str], list[tuple[str, str]]]:
    removed = pl.concat([read_dir(d) for d in sorted((run_dir / "removed").iterdir())], how="diagonal_relaxed")
    return read_dir(run_dir / "data")["id"].to_list(), sorted(zip(removed["id"].to_list(), removed["curate_reason"].to_list()))


def bucket_and_local_run(s3, tmp_path: Path, files: int, rows: int, prefix: str) -> None:
    """The corpus in the bucket and on disk, and the run over the local copy (tmp_path/run)."""
    put_corpus(s3, corpus(files, rows), prefix, tmp_path / "in")
    local = curate(tmp_path, s3)
    assert local.exit_code == 0, local.stderr


@pytest.mark.slow
def test_jsonl_gz_and_parquet_from_a_bucket_into_a_bucket(s3, tmp_path):
    bucket_and_local_run(s3, tmp_path, 4, 30, "crawl/2026-11-20")
    result = curate(tmp_path, s3, "--input", f"s3://{BUCKET_IN}/crawl/2026-11-20/", "--output", f"s3://{BUCKET_OUT}/curated/2026-11-20")
    assert result.exit_code == 0, result.stderr
    uploaded = remote_run(s3, "curated/2026-11-20", tmp_path / "downloaded")
    manifest = json.loads((uploaded / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["rows_in"] == 120
    assert [i["path"] for i in manifest["inputs"]] == [f"s3://{BUCKET_IN}/crawl/2026-11-20/part-{i:03d}.{'parquet' if i % 2 else 'jsonl.gz'}" for i in range(4)]
    assert all(i["etag"] for i in manifest["inputs"])
    assert outcome(uploaded) == outcome(tmp_path / "run")
    assert (uploaded / "report.html").exists() and sorted(p.name for p in (uploaded / "reports").glob("*.json")) == ["01_length_filter.json", "02_exact_dedup.json"]
    assert not list((tmp_path / "cache").rglob("*.parquet"))  # the local copy is gone once uploaded
    again = curate(tmp_path, s3, "--input", f"s3://{BUCKET_IN}/crawl/2026-11-20/", "--output", f"s3://{BUCKET_OUT}/curated/2026-11-20")
    assert again.exit_code == 0, again.stderr
    rewritten = json.loads(s3["client"].get_object(Bucket=BUCKET_OUT, Key="curated/2026-11-20/manifest.json")["Body"].read())
    assert rewritten == manifest  # finished already: nothing run, nothing uploaded
    changed = curate(tmp_path, s3, "--input", f"s3://{BUCKET_IN}/crawl/2026-11-20/part-000.jsonl.gz", "--output", f"s3://{BUCKET_OUT}/curated/2026-11-20")
    assert changed.exit_code == 4 and "holds a finished run with a different" in changed.stderr, changed.stderr


@pytest.mark.slow
def test_an_upload_killed_midway_finishes_when_run_again(s3, tmp_path):
    bucket_and_local_run(s3, tmp_path, 30, 12, "many")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "notes.txt").write_text("the user's own file")
    args = ("--input", f"s3://{BUCKET_IN}/many/", "--output", f"s3://{BUCKET_OUT}/killed", "--work-dir", str(scratch))
    process = curate(tmp_path, s3, *args, wait=False)
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if s3["client"].list_objects_v2(Bucket=BUCKET_OUT, Prefix="killed/data/").get("KeyCount", 0) >= 3:
            break
        time.sleep(0.02)
    process.kill()  # SIGKILL during the upload
    process.wait()
    keys = [o["Key"] for o in s3["client"].list_objects_v2(Bucket=BUCKET_OUT, Prefix="killed/").get("Contents", [])]
    assert keys and "killed/manifest.json" not in keys, "the kill should land mid-upload"
    # The local copy is for that URL only, and a local run's folder is no URL's copy:
    # finishing would have uploaded one run and deleted it as the other's local copy.
    as_local = curate(tmp_path, s3, "--output", str(scratch))
    assert as_local.exit_code == 4 and f"is the local copy of the run at s3://{BUCKET_OUT}/killed" in as_local.stderr, as_local.stderr
    for other in (scratch, tmp_path / "run"):
        elsewhere = curate(tmp_path, s3, "--output", f"s3://{BUCKET_OUT}/other", "--work-dir", str(other))
        assert elsewhere.exit_code == 4 and "needs a folder of its own" in elsewhere.stderr, elsewhere.stderr
    assert (tmp_path / "run" / "manifest.json").exists() and not s3["client"].list_objects_v2(Bucket=BUCKET_OUT, Prefix="other/").get("KeyCount")
    # an earlier curate's marker does not record the URL: its killed upload still resumes
    marker = json.loads((scratch / ".curate-run").read_text())
    (scratch / ".curate-run").write_text(json.dumps({k: v for k, v in marker.items() if k != "uploads_to"}))
    finished = curate(tmp_path, s3, *args)
    assert finished.exit_code == 0, finished.stderr
    uploaded = remote_run(s3, "killed", tmp_path / "downloaded")
    assert json.loads((uploaded / "manifest.json").read_text())["rows_in"] == 360
    assert outcome(uploaded) == outcome(tmp_path / "run")
    assert [p.name for p in scratch.iterdir()] == ["notes.txt"]  # the local copy is gone, nothing else


@pytest.mark.slow
def test_a_sigterm_after_the_manifest_is_uploaded_leaves_a_finished_run_with_its_exit_code(s3, tmp_path):
    """The bucket holds the finished run: a scheduler's stop now must not report it as
    "not finished" (143). The local copy it cut short the next run removes."""
    from curate.run.crash import SIGNAL_VARIABLE, VARIABLE

    bucket_and_local_run(s3, tmp_path, 2, 12, "late")
    args = ("--input", f"s3://{BUCKET_IN}/late/", "--output", f"s3://{BUCKET_OUT}/late", "--work-dir", str(tmp_path / "copy"))
    stopped = curate(tmp_path, s3, *args, env={VARIABLE: "upload:manifest", SIGNAL_VARIABLE: "SIGTERM"}, wait=False)
    assert stopped.wait(timeout=120) == 0
    uploaded = json.loads(s3["client"].get_object(Bucket=BUCKET_OUT, Key="late/manifest.json")["Body"].read())
    assert uploaded["status"] == "complete" and (tmp_path / "copy" / "manifest.json").exists()
    again = curate(tmp_path, s3, *args)
    assert again.exit_code == 0, again.stderr
    assert not (tmp_path / "copy").exists() or not any((tmp_path / "copy").iterdir())


def test_wrong_credentials_missing_bucket_and_key(s3, tmp_path):
    (tmp_path / "in").mkdir()
    s3["client"].put_object(Bucket=BUCKET_IN, Key="one/rows.jsonl", Body=b'{"id": "1", "text": "a row of text here"}\n')
    s3["client"].put_object(Bucket=BUCKET_IN, Key="empty/part-0.parquet", Body=b"")
    wrong = {"AWS_ACCESS_KEY_ID": "AKIAWRONGKEY", "AWS_SECRET_ACCESS_KEY": "wrong"}
    cases = [
        (("--input", f"s3://{BUCKET_IN}/one/rows.jsonl"), wrong, 3, ["s3://curate-in/one/rows.jsonl", "access denied", "credentials"]),
        (("--input", "s3://curate-no-such-bucket/rows.jsonl"), None, 3, ["s3://curate-no-such-bucket/rows.jsonl", "no such bucket"]),
        (("--input", f"s3://{BUCKET_IN}/one/missing.jsonl"), None, 3, ["missing.jsonl", "no such bucket, container or key"]),
        (("--input", f"s3://{BUCKET_IN}/empty/"), None, 3, [f"s3://{BUCKET_IN}/empty/part-0.parquet: the file is empty (0 bytes)"]),
        (("--input", f"s3://{BUCKET_IN}/one/rows.jsonl", "--output", "s3://curate-no-such-bucket/run"), None, 4, ["output s3://curate-no-such-bucket/run", "no such"]),
    ]
    for args, env, code, needles in cases:
        result = curate(tmp_path, s3, *args, env=env)
        lines = result.stderr.strip().splitlines()
        assert result.exit_code == code and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
        for needle in needles:
            assert needle in lines[0], lines[0]
    assert not (tmp_path / "run").exists() and not list((tmp_path / "cache").rglob("manifest.json"))


def test_a_key_whose_name_holds_glob_characters_is_that_key(s3, monkeypatch):
    import s3fs

    from curate.run.sources import locate

    for name in ("part[1].jsonl", "part1.jsonl"):  # `part[1]` as a glob matches part1 only
        s3["client"].put_object(Bucket=BUCKET_IN, Key=f"odd/{name}", Body=b'{"id": "1", "text": "a row of text here"}\n')
    for name, value in s3["env"].items():
        monkeypatch.setenv(name, value)
    s3fs.S3FileSystem.clear_instance_cache()
    assert [loc.url for loc in locate([f"s3://{BUCKET_IN}/odd/part[1].jsonl"])] == [f"s3://{BUCKET_IN}/odd/part[1].jsonl"]
    assert [loc.url for loc in locate([f"s3://{BUCKET_IN}/odd/part[0-9].jsonl"])] == [f"s3://{BUCKET_IN}/odd/part1.jsonl"]


def test_a_glob_in_a_bucket_reads_what_the_same_glob_reads_on_disk(s3, tmp_path, monkeypatch):
    """A folder the glob matches is read as a folder (the days of a crawl), hidden names
    are passed by as a local glob passes them by, and a glob that ends with no file is
    one line, not an internal error."""
    import s3fs

    from curate.errors import InputDataError
    from curate.run.sources import locate

    row = b'{"id": "1", "text": "a row of text here"}\n'
    keys = ["2026-11-01/part-0.jsonl", "2026-11-02/part-0.jsonl", "2026-11-02/.part-0.jsonl.crc", "top.jsonl", ".hidden.jsonl", "2026-12-01/README"]
    for key in keys:
        s3["client"].put_object(Bucket=BUCKET_IN, Key=f"days/{key}", Body=row)
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_bytes(row)
    for name, value in s3["env"].items():
        monkeypatch.setenv(name, value)
    s3fs.S3FileSystem.clear_instance_cache()
    for pattern, read in [("2026-11-*", ["2026-11-01/part-0.jsonl", "2026-11-02/part-0.jsonl"]),
                          ("*.jsonl", ["top.jsonl"]),
                          ("**/*.jsonl", ["2026-11-01/part-0.jsonl", "2026-11-02/part-0.jsonl", "top.jsonl"])]:
        assert [loc.url for loc in locate([f"s3://{BUCKET_IN}/days/{pattern}"])] == [f"s3://{BUCKET_IN}/days/{key}" for key in read], pattern
        assert [loc.url for loc in locate([str(tmp_path / pattern)])] == [str(tmp_path / key) for key in read], pattern
    with pytest.raises(InputDataError, match=rf"^input s3://{BUCKET_IN}/days/2026-12-01: the folder holds no supported file"):
        locate([f"s3://{BUCKET_IN}/days/2026-12-*"])
    with pytest.raises(InputDataError, match=rf"^input.path 's3://{BUCKET_IN}/days/2027-\*' matches no file"):
        locate([f"s3://{BUCKET_IN}/days/2027-*"])


def test_a_url_scheme_in_capitals_is_that_store(s3, monkeypatch):
    """URL schemes are case-insensitive (RFC 3986): `S3://` reads the bucket, as `s3://` does."""
    import s3fs

    from curate.run.sources import locate

    s3["client"].put_object(Bucket=BUCKET_IN, Key="caps/part-0.jsonl", Body=b'{"id": "1", "text": "a row of text here"}\n')
    for name, value in s3["env"].items():
        monkeypatch.setenv(name, value)
    s3fs.S3FileSystem.clear_instance_cache()
    assert [(loc.url, loc.size) for loc in locate([f"S3://{BUCKET_IN}/caps/part-0.jsonl"])] == [(f"s3://{BUCKET_IN}/caps/part-0.jsonl", 42)]


def test_a_datasets_folder_in_a_bucket_is_the_files_its_state_json_lists(s3, monkeypatch):
    import s3fs

    from curate.run.sources import locate

    state = {"_data_files": [{"filename": "data-00000-of-00001.arrow"}], "_split": "train"}
    for name, body in [("data-00000-of-00001.arrow", b"rows"), ("cache-5f3c2a9b1d7e4f60.arrow", b"a .map() cache"), ("state.json", json.dumps(state).encode())]:
        s3["client"].put_object(Bucket=BUCKET_IN, Key=f"hf/train/{name}", Body=body)
    for name, value in s3["env"].items():
        monkeypatch.setenv(name, value)
    s3fs.S3FileSystem.clear_instance_cache()
    assert [loc.url for loc in locate([f"s3://{BUCKET_IN}/hf/train/"])] == [f"s3://{BUCKET_IN}/hf/train/data-00000-of-00001.arrow"]


def test_storage_options_in_the_pipeline_and_masked_in_the_manifest(s3, tmp_path, monkeypatch):
    """Credentials and endpoint given only in input.storage_options and
    output.storage_options (none in the environment) read one bucket and write another;
    the manifest records the option names, not the values."""
    import s3fs

    from curate.config import load_pipeline
    from curate.console import Reporter
    from curate.run.runner import RunOptions, run_pipeline
    from curate.run.upload import RemoteRun

    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    s3["client"].put_object(Bucket=BUCKET_IN, Key="opts/rows.jsonl", Body=b'{"id": "1", "text": "a row of text here"}\n{"id": "2", "text": "another row of text"}\n')
    env = s3["env"]
    options = {"key": env["AWS_ACCESS_KEY_ID"], "secret": env["AWS_SECRET_ACCESS_KEY"], "endpoint_url": env["AWS_ENDPOINT_URL"]}
    output = {"path": f"s3://{BUCKET_OUT}/opts", "storage_options": dict(options)}  # a copy: safe_dump would write a YAML alias, which curate refuses
    spec = {"input": {"path": f"s3://{BUCKET_IN}/opts/", "id_column": "id", "storage_options": options}, "output": output, "stages": STAGES}
    (tmp_path / "pipeline.yaml").write_text(yaml.safe_dump(spec))
    s3fs.S3FileSystem.clear_instance_cache()
    pipeline = load_pipeline(tmp_path / "pipeline.yaml")
    remote = RemoteRun(pipeline.output_path, pipeline.output_storage_options)
    result = run_pipeline(pipeline, tmp_path / "local", RunOptions(workers=1, remote=remote), Reporter())
    assert result.manifest["rows_in"] == 2
    assert result.manifest["pipeline"]["input"]["storage_options"] == {"key": "***", "secret": "***", "endpoint_url": "***"}
    uploaded = remote_run(s3, "opts", tmp_path / "downloaded")
    assert json.loads((uploaded / "manifest.json").read_text())["rows_in"] == 2
    assert env["AWS_SECRET_ACCESS_KEY"] not in (uploaded / "manifest.json").read_text()
    assert env["AWS_SECRET_ACCESS_KEY"] not in (uploaded / "report.html").read_text()


@pytest.mark.slow
def test_an_output_url_holds_one_run_and_nothing_curate_did_not_write_is_touched(s3, tmp_path):
    """What an earlier unfinished upload left goes before this run's manifest; an object
    curate never writes stops the run (and --fresh) before any work; a kill after the
    manifest went up leaves no local copy once the same command runs again; a run that
    finished there meanwhile is not overwritten."""
    from curate.errors import OutputError
    from curate.run.upload import UPLOAD_CLAIM, RemoteRun

    bucket_and_local_run(s3, tmp_path, 3, 12, "one-run")
    put = lambda key, body=b"x": s3["client"].put_object(Bucket=BUCKET_OUT, Key=f"url/{key}", Body=body)  # noqa: E731
    for key in ("data/part-00099.parquet", "removed/gone_stage/part-00000.parquet", "reports/09_gone_stage.json", "notes.txt"):
        put(key)  # an earlier upload of another run, killed before its manifest; and the user's notes
    args = ("--input", f"s3://{BUCKET_IN}/one-run/", "--output", f"s3://{BUCKET_OUT}/url")
    killed = curate(tmp_path, s3, *args, env={"CURATE_CRASH_AT": "upload:manifest"}, wait=False)
    assert killed.wait(timeout=120) == -signal.SIGKILL
    keys = lambda: sorted(o["Key"].removeprefix("url/") for o in s3["client"].list_objects_v2(Bucket=BUCKET_OUT, Prefix="url/").get("Contents", []))  # noqa: E731
    local = sorted(p.relative_to(tmp_path / "run").as_posix() for p in (tmp_path / "run").rglob("*") if p.is_file() and p.parts[len((tmp_path / "run").parts)] in ("data", "removed", "reports", "report.html", "manifest.json"))
    assert keys() == sorted([*local, "notes.txt", UPLOAD_CLAIM])  # killed before it released its claim
    assert list((tmp_path / "cache").rglob("manifest.json"))  # killed before the local copy went
    again = curate(tmp_path, s3, *args)
    assert again.exit_code == 0, again.stderr
    assert UPLOAD_CLAIM not in keys()
    assert not list((tmp_path / "cache").rglob("*.parquet")) and not list((tmp_path / "cache").rglob("manifest.json"))
    put("data/README.md")
    for extra in ((), ("--fresh",)):
        refused = curate(tmp_path, s3, *args, "--set", "stages.length_filter.min_words=4", *extra)
        assert refused.exit_code == 4 and "url/data/README.md, which curate did not write" in refused.stderr, refused.stderr
    assert "data/README.md" in keys() and "manifest.json" in keys()
    s3["client"].delete_object(Bucket=BUCKET_OUT, Key="url/data/README.md")
    # a run that finished there while this one ran: this one is not uploaded over it
    mine = tmp_path / "mine"
    (mine / "data").mkdir(parents=True)
    (mine / "manifest.json").write_text('{"state": {"pipeline_hash": "mine"}}')
    (mine / "data" / "part-00000.parquet").write_bytes(b"rows")
    remote = lambda url: RemoteRun(url, {"endpoint_url": s3["env"]["AWS_ENDPOINT_URL"], "key": s3["env"]["AWS_ACCESS_KEY_ID"], "secret": s3["env"]["AWS_SECRET_ACCESS_KEY"]})  # noqa: E731
    with pytest.raises(OutputError, match="another curate run finished there while this one ran"):
        remote(f"s3://{BUCKET_OUT}/url").upload(mine, {"pipeline_hash": "mine"})
    # two uploads to one URL at once: the second finds the first's claim and stops, uploading nothing
    s3["client"].put_object(Bucket=BUCKET_OUT, Key=f"url2/{UPLOAD_CLAIM}", Body=b'{"run": "theirs", "host": "box7", "pid": 4242, "since": "2026-12-03T01:00:00Z"}')
    with pytest.raises(OutputError, match=rf"url2: another curate run is uploading there \(pid 4242 on box7, since 2026-12-03T01:00:00Z\); this run is kept in {mine}.*delete s3://{BUCKET_OUT}/url2/{UPLOAD_CLAIM}"):
        remote(f"s3://{BUCKET_OUT}/url2").upload(mine, {"pipeline_hash": "mine"})
    assert [o["Key"] for o in s3["client"].list_objects_v2(Bucket=BUCKET_OUT, Prefix="url2/")["Contents"]] == [f"url2/{UPLOAD_CLAIM}"]
    # this run's own claim, left by its killed upload, is taken over; the claim goes with the manifest
    s3["client"].delete_object(Bucket=BUCKET_OUT, Key=f"url2/{UPLOAD_CLAIM}")
    s3["client"].put_object(Bucket=BUCKET_OUT, Key=f"url2/{UPLOAD_CLAIM}", Body=json.dumps({"run": hashlib.sha256((mine / "manifest.json").read_bytes()).hexdigest()}).encode())
    remote(f"s3://{BUCKET_OUT}/url2").upload(mine, {"pipeline_hash": "mine"})
    assert sorted(o["Key"] for o in s3["client"].list_objects_v2(Bucket=BUCKET_OUT, Prefix="url2/")["Contents"]) == ["url2/data/part-00000.parquet", "url2/manifest.json"]

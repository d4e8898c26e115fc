"""Where input data lives and what format it is in: local files, globs, lists and
directories, and remote URLs (s3://, gs://, az://, abfs://, hf://, http(s)://, file://).

`locate` turns the pipeline's `input.path` into a sorted list of `Location`s (checking
schemes, optional extras, credentials, buckets and keys before any output exists).
`curate.run.staging` turns each location into local Parquet the shard jobs read.
Remote access goes through fsspec and the filesystem package of the scheme's optional
extra (s3fs, gcsfs, adlfs, huggingface_hub, aiohttp), imported only when a URL needs it.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import xxhash

from curate.errors import ConfigError, CurateError, InputDataError, OutputError, first_line, resolved
from curate.extras import install_command
from curate.run.rundir import MARKER, has_marker

FORMAT_BY_SUFFIX = {
    ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".json-lines": "jsonl",
    ".csv": "csv", ".tsv": "tsv",
    ".arrow": "arrow", ".feather": "arrow", ".ipc": "arrow",
}
COMPRESSION_BY_SUFFIX = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd", ".bz2": "bz2", ".xz": "xz"}
UNSUPPORTED_COMPRESSION = {".lz4": "lz4", ".zip": "zip", ".7z": "7z", ".br": "brotli", ".lzma": "lzma", ".lzo": "lzo", ".sz": "snappy", ".z": "compress"}
"""Compression suffixes curate does not read: a file with one is refused by name, named
directly or found in a folder, never taken for its format or skipped."""
PLAIN_SUFFIXES = ("", ".txt")
"""The names in a folder that say no format, which `input.format` says: none
(`part-00000`, as Hadoop and Spark's RDDs name their parts) and plain text (`.txt`, as
Spark's `write.text` names them). Other names say another kind of file (`README.md`)."""
STREAMED_FORMATS = ("jsonl", "csv", "tsv")
"""Formats read as a byte stream, so they may be compressed as a whole file."""

DATASETS_METADATA = {"dataset_info.json", "state.json", "dataset_dict.json"}
"""The JSON files a Hugging Face `save_to_disk` folder keeps beside its `data-*.arrow`
files: metadata, not rows, so a directory walk skips them."""
DATASETS_STATE = "state.json"
"""A `save_to_disk` folder's list of its data files (`_data_files`): the folder's other
files are datasets' caches (`cache-*.arrow` from .map, .filter, .shuffle), not rows."""

EXTRAS = {
    "s3": ("s3fs", "s3"), "s3a": ("s3fs", "s3"),
    "gs": ("gcsfs", "gcs"), "gcs": ("gcsfs", "gcs"),
    "az": ("adlfs", "azure"), "abfs": ("adlfs", "azure"), "abfss": ("adlfs", "azure"),
    "hf": ("huggingface_hub", "hf"),
    "http": ("aiohttp", "http"), "https": ("aiohttp", "http"),
}
"""URL scheme -> (the package that reads it, by its import and pip name, and the curate extra
that installs it)."""
READ_ONLY = ("hf", "http", "https")
"""Schemes curate reads from but never writes a run to."""
HTTP_SCHEMES = ("http", "https")
"""Schemes whose URLs may carry a query, and whose servers answer with an HTTP status."""

IDENTITY_KEYS = ("ETag", "etag", "md5Hash", "crc32c", "content_md5", "Content-MD5", "Digest", "sha256", "blob_id", "generation",
                 "LastModified", "last_modified", "Last-Modified", "mtime")
"""Keys of a remote object's metadata that change when its content does, preferred in
this order (the hyphenated ones: the HTTP headers fsspec's HTTP filesystem gives); a
resumed run compares them instead of hashing the remote bytes again. An object with none
of them (an HTTP server that sends neither ETag nor Last-Modified) is hashed: its size
alone would miss a file rewritten at the same size, or grown behind a chunked response
that says no size."""


@dataclass(frozen=True)
class Location:
    """One input file: a local path or a URL, its format, size and identity."""

    url: str
    """A local absolute path, or a URL (`s3://bucket/key`)."""
    format: str
    compression: str | None
    size: int
    listed_identity: str | None
    """A remote file's ETag (or the store's equivalent), prefixed with the key it came
    from; None for a local file, or a remote one its store gives none for, whose identity
    is computed when first asked for."""
    storage_options: tuple[tuple[str, Any], ...] = ()
    trial: bool = False
    """`--limit`: a local file is identified by its size, modification time and first MiB
    (a remote one without an ETag by its first MiB), so that a trial run on a huge file
    reads only its beginning."""
    mtime_ns: int | None = None
    """A local file's modification time when the run located it (None for a URL): with
    `size`, what `check_unchanged` compares when the run reads the file and before it
    is finished, for a fraction of hashing it again."""

    @cached_property
    def identity(self) -> str:
        """What changes when the file's content does: local files, xxh3_64 of the bytes
        (hashed only when a run needs it, not by `curate check`); remote files, the ETag,
        else the hash of the bytes read from the store."""
        if self.listed_identity is not None:
            return self.listed_identity
        if self.remote:
            return self._remote_hash()
        return quick_hash(Path(self.url)) if self.trial else file_hash(Path(self.url))

    def _remote_hash(self) -> str:
        """`xxh3_64:` and the hash of a remote file's bytes, streamed from the store (a
        trial run's: `head:` and that of its first MiB). A whole file's size is recorded
        too: a chunked response says none, which the listing took for 0."""
        fs, path = filesystem(self.url, dict(self.storage_options))
        with remote_errors(self.url), fs.open(path, "rb", block_size=HASH_BLOCK_BYTES) as handle:
            if self.trial:
                return f"head:{xxhash.xxh3_64_hexdigest(handle.read(1 << 20))}"
            digest, size = stream_hash(handle)
        object.__setattr__(self, "size", size)
        return f"xxh3_64:{digest}"

    @property
    def remote(self) -> bool:
        return is_url(self.url)

    def check_unchanged(self) -> None:
        """InputDataError (exit 3) when this local file's size or modification time is not
        what it was when the run located it: rewritten (or deleted) while the run works,
        its rows and its recorded hash would no longer match."""
        if self.mtime_ns is None:
            return
        try:
            stat = os.stat(self.url)
        except FileNotFoundError:
            raise InputDataError(f"{self.url}: the input file was deleted while the run worked; run the same command again once it is back") from None
        if (stat.st_size, stat.st_mtime_ns) == (self.size, self.mtime_ns):
            return
        if stat.st_size == self.size and "identity" in self.__dict__ and self._same_bytes():
            # touched, or copied with its times (rsync -t, cp -p): the bytes the run hashed
            object.__setattr__(self, "mtime_ns", stat.st_mtime_ns)
            return
        change = f"{self.size} bytes when the run started, {stat.st_size} now" if stat.st_size != self.size else "the same size, other bytes"
        raise InputDataError(f"{self.url}: the input file changed while the run read it ({change}); run the same command again once it is written")

    def _same_bytes(self) -> bool:
        """Whether the file still holds what `identity` was computed from (a trial run's:
        its first MiB)."""
        if self.trial:
            return quick_hash(Path(self.url)).rsplit(":head:", 1)[1] == self.identity.rsplit(":head:", 1)[1]
        return file_hash(Path(self.url)) == self.identity

    def describe(self) -> dict[str, Any]:
        key = "etag" if self.remote else "trial_identity" if self.trial else "xxh3_64"
        identity = self.identity  # first: hashing a remote file learns a size its store did not say
        return {"path": self.url, "format": self.format + (f"+{self.compression}" if self.compression else ""), "bytes": self.size, key: identity}


def is_url(path: str) -> bool:
    return "://" in path and scheme_of(path) != "file"


def scheme_of(url: str) -> str:
    """The URL's scheme, lower-case: schemes are case-insensitive (RFC 3986), `S3://` is `s3://`."""
    return url.split("://", 1)[0].lower()


def local_path(path: str) -> str:
    """`file:///data/my%20x.jsonl` -> `/data/my x.jsonl` (a file URL percent-encodes its
    path, as `Path.as_uri()` writes it); other local paths as they are."""
    return unquote(path.split("://", 1)[1]) if "://" in path and scheme_of(path) == "file" else path


def without_query(url: str) -> str:
    """An HTTP(S) URL without its query and fragment (a signed URL's signature,
    `?download=true`), which say nothing of the file; any other location as it is (`?`
    and `#` are characters of a local file's or an object's name)."""
    if scheme_of(url) not in HTTP_SCHEMES:
        return url
    return urlunsplit(urlsplit(url)._replace(query="", fragment=""))


def format_of(name: str, declared: str | None) -> tuple[str, str | None]:
    """(format, compression) from a file name, or from `input.format` for a name that
    says no format: a name that says one (`summary.parquet` beside `part-00000`) is
    that format whatever `input.format` says."""
    suffixes = [s.lower() for s in PurePosixPath(without_query(name)).suffixes]
    if suffixes and suffixes[-1] in UNSUPPORTED_COMPRESSION:
        raise InputDataError(
            f"{name}: {UNSUPPORTED_COMPRESSION[suffixes[-1]]} compression is not supported "
            f"(gzip, zstd, bz2 and xz are); decompress it or recompress it as .gz, .zst, .bz2 or .xz"
        )
    compression = COMPRESSION_BY_SUFFIX.get(suffixes[-1]) if suffixes else None
    if compression:
        suffixes = suffixes[:-1]
    fmt = (FORMAT_BY_SUFFIX.get(suffixes[-1]) if suffixes else None) or declared
    if fmt is None:
        known = ", ".join(sorted(FORMAT_BY_SUFFIX))
        raise InputDataError(f"{name}: cannot tell the format from the file name (known: {known}, optionally + .gz, .zst, .bz2 or .xz); set input.format")
    if compression and fmt not in STREAMED_FORMATS:
        raise InputDataError(f"{name}: a compressed {fmt} file is not supported ({fmt} compresses inside the file); decompress it")
    return fmt, compression


def _skipped(relative: str) -> bool:
    """Hidden and `_`-prefixed files and folders (`_SUCCESS`, `.part-0.crc`, `_temporary/`)
    are not data, as in Spark and Hive; nor is a datasets folder's metadata."""
    parts = PurePosixPath(relative).parts
    return any(p.startswith((".", "_")) for p in parts) or (parts[-1] in DATASETS_METADATA if parts else False)


def read_in_folder(relative: str, declared: str | None) -> bool:
    """Whether a directory input reads its file at `relative` (a path below the folder)."""
    if _skipped(relative):
        return False
    suffixes = [s.lower() for s in PurePosixPath(relative).suffixes]
    if suffixes and (suffixes[-1] in COMPRESSION_BY_SUFFIX or suffixes[-1] in UNSUPPORTED_COMPRESSION):
        suffixes = suffixes[:-1]  # a data file compressed in a way curate cannot read is taken, to be refused by name
    suffix = suffixes[-1] if suffixes else ""
    return suffix in FORMAT_BY_SUFFIX or (declared is not None and suffix in PLAIN_SUFFIXES)


def _supported(declared: str | None) -> str:
    """The names a folder walk reads, for the line saying a folder holds none."""
    plain = f", or with input.format {declared}: names without an extension or ending in .txt" if declared else ""
    return f"{', '.join(sorted(FORMAT_BY_SUFFIX))}{plain}"


def _files_below(folder: Path) -> list[str]:
    """Every file below a local `folder`, as paths relative to it. Links to files and
    folders are followed, as a glob follows them (`Path.rglob` before Python 3.13 does not
    enter a linked folder); a folder reached twice, by a link back up or by two links,
    is walked once. Hidden and `_`-prefixed folders are not entered: nothing in them is
    read; nor is a curate run directory (it holds the run marker): its rows are a run's
    output, kept and removed alike, and its manifest and reports are no rows at all.
    A folder curate may not list, or a link to nothing, stops the run naming it,
    where a walk that passed it by would leave its rows out without a word."""
    found: list[str] = []
    walked: set[tuple[int, int]] = set()

    def walk(directory: str, relative: str, stat: os.stat_result) -> None:
        if (stat.st_dev, stat.st_ino) in walked:
            return
        walked.add((stat.st_dev, stat.st_ino))
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)  # which of two links to one folder is walked: the same every run
        except PermissionError as error:
            raise _unreachable(directory, error) from None
        for entry in entries:
            name = relative + entry.name
            try:
                is_dir, is_file = entry.is_dir(), entry.is_file()
                if not (is_dir or is_file) and entry.is_symlink():
                    os.stat(entry.path)  # raises for a link to nothing; one to a pipe or socket is not data
            except OSError as error:
                if _skipped(name):
                    continue
                raise _unreachable(entry.path, error) from None
            if is_dir and not _skipped(name) and not has_marker(Path(entry.path)):
                walk(entry.path, name + "/", entry.stat())
            elif is_file:
                found.append(name)

    walk(str(folder), "", folder.stat())
    return found


def _unreachable(path: str, error: OSError) -> InputDataError:
    """A file or folder of the input that curate cannot open: one it may not read, or a
    link to nothing (the data it led to deleted or unmounted), named with where it
    leads; links that lead to each other say so."""
    if isinstance(error, PermissionError):
        return InputDataError(f"input {path}: permission denied; fix its permissions or move it out of the input")
    target = resolved(path, "input", InputDataError, "remove it from the input")
    return InputDataError(f"input {path} is a link to {target}, which does not exist; fix the link or remove it from the input")


def datasets_caches(relatives: list[str], read: Callable[[str], bytes], folder: str) -> set[str]:
    """The files of a directory walk (`relatives`: paths below `folder`) that are not a
    `save_to_disk` dataset's rows: in a folder holding a datasets `state.json` (`read`
    gives a file's bytes), every file it does not list in `_data_files`. A state.json
    without `_data_files` is not datasets' and changes nothing."""
    listed: dict[PurePosixPath, set[str]] = {}
    for relative in relatives:
        where = PurePosixPath(relative)
        if where.name != DATASETS_STATE:
            continue
        try:
            state = json.loads(read(relative))
            listed[where.parent] = {entry["filename"] for entry in state["_data_files"]}
        except (ValueError, TypeError, KeyError):
            continue
        if state.get("_indices_data_files"):
            raise InputDataError(
                f"{folder}/{relative}: the dataset has an indices mapping (_indices_data_files, from shuffle, select or "
                "filter), which picks and orders its rows and which curate does not apply; save it again flattened: "
                "dataset.flatten_indices().save_to_disk(...)"
            )
    caches = set()
    for parent, names in listed.items():
        here = {PurePosixPath(r).name: r for r in relatives if PurePosixPath(r).parent == parent}
        missing = sorted(names - set(here))
        if missing:
            raise InputDataError(f"{folder}/{(parent / DATASETS_STATE).as_posix()}: lists {missing[0]} in _data_files, which is not in the folder; save the dataset again")
        caches |= {relative for name, relative in here.items() if name not in names}
    return caches


def empty_file(name: object) -> InputDataError:
    """A zero-byte Parquet or Arrow file: nothing to read, and no footer to say why."""
    return InputDataError(f"{name}: the file is empty (0 bytes); remove it from the input or re-export it")


HASH_BLOCK_BYTES = 1 << 22
"""Bytes hashed per read: few calls per file, little memory."""


def file_hash(path: Path) -> str:
    with path.open("rb") as handle:
        return stream_hash(handle)[0]


def stream_hash(handle: Any) -> tuple[str, int]:
    """xxh3_64 of what a binary file handle holds from where it stands, and its bytes."""
    digest = xxhash.xxh3_64()
    size = 0
    while block := handle.read(HASH_BLOCK_BYTES):
        digest.update(block)
        size += len(block)
    return digest.hexdigest(), size


def quick_hash(path: Path) -> str:
    """size, modification time and xxh3_64 of the first MiB: a file rewritten in place
    within one modification-time tick with the same size and beginning goes unseen, which
    a trial run (`--limit`) accepts to read only what it needs."""
    stat = path.stat()
    with path.open("rb") as handle:
        head = xxhash.xxh3_64_hexdigest(handle.read(1 << 20))
    return f"size:{stat.st_size}:mtime_ns:{stat.st_mtime_ns}:head:{head}"


# ---------------------------------------------------------------- remote filesystems


def filesystem(url: str, storage_options: dict[str, Any], role: str = "input") -> tuple[Any, str]:
    """The fsspec filesystem for a URL and the path inside it; a scheme curate does not
    know, or whose extra is not installed, is one line saying what to do."""
    scheme = scheme_of(url)
    error = InputDataError if role == "input" else OutputError
    if scheme not in EXTRAS or (role == "output" and scheme in READ_ONLY):
        usable = [s for s in EXTRAS if role == "input" or s not in READ_ONLY]
        verb = "reads" if role == "input" else "writes to"
        raise error(f"{role} {url}: unsupported URL scheme {scheme}://; curate {verb} local paths, file:// and {', '.join(f'{s}://' for s in usable)}")
    module, extra = EXTRAS[scheme]
    missing = [package for package in ("fsspec", module) if importlib.util.find_spec(package) is None]
    if missing:
        # a package to install, as for a stage's optional packages: exit 2 for input and output alike
        raise ConfigError(f"{role} {url}: {scheme}:// needs {' and '.join(missing)}, not installed here: {install_command(missing, [extra])}")
    import fsspec

    with remote_errors(url, role):
        return fsspec.core.url_to_fs(scheme + url[len(scheme):], **storage_options)  # fsspec knows its schemes in lower case only


@contextlib.contextmanager
def remote_errors(url: str, role: str = "input") -> Iterator[None]:
    """Turn a store's errors (missing bucket or key, refused credentials, no network)
    into one line naming the URL."""
    error = InputDataError if role == "input" else OutputError
    try:
        yield
    except CurateError:
        raise
    except FileNotFoundError as exc:
        cause = exc.__cause__
        _refuse_http_status(url, role, cause)
        if isinstance(cause, OSError) and not isinstance(cause, FileNotFoundError):
            # fsspec's HTTP filesystem says FileNotFoundError for a server that does not answer too
            raise error(f"{role} {url}: cannot reach the store ({type(cause).__name__}: {first_line(cause)}); check the URL, endpoint and network") from None
        raise error(f"{role} {url}: no such bucket, container or key; check the URL") from None
    except PermissionError as exc:
        raise error(f"{role} {url}: access denied ({first_line(exc)}); check the credentials (environment, config files or {role}.storage_options)") from None
    except Exception as exc:  # noqa: BLE001 - each store raises its own kinds; all become one line here
        _refuse_http_status(url, role, exc)
        text = f"{type(exc).__name__}: {first_line(exc)}"
        lowered = text.lower()
        if any(word in lowered for word in ("credential", "accessdenied", "access denied", "forbidden", "signature", "invalidaccesskeyid", "403")):
            raise error(f"{role} {url}: access denied ({text}); check the credentials (environment, config files or {role}.storage_options)") from None
        if any(word in lowered for word in ("nosuchbucket", "nosuchkey", "not found", "404")):
            raise error(f"{role} {url}: no such bucket, container or key ({text}); check the URL") from None
        raise error(f"{role} {url}: cannot reach the store ({text}); check the URL, endpoint and network") from None


def _refuse_http_status(url: str, role: str, exc: BaseException | None) -> None:
    """An HTTP server's answer as what it means, when `exc` carries one (aiohttp's
    ClientResponseError, which fsspec raises, or gives as the cause of the
    FileNotFoundError it raises for any status): a refusal is the credentials', a 5xx
    the server's own failure, neither a missing file."""
    status = getattr(exc, "status", None)
    if scheme_of(url) not in HTTP_SCHEMES or not isinstance(status, int):
        return
    error = InputDataError if role == "input" else OutputError
    answer = f"HTTP {status} {getattr(exc, 'message', '')}".rstrip()
    if status in (401, 403):
        raise error(f"{role} {url}: access denied ({answer}); check the credentials ({role}.storage_options) or, for a signed URL, whether it has expired") from None
    if status in (404, 410):
        raise error(f"{role} {url}: no such file at that URL ({answer}); check the URL") from None
    if status >= 500:
        raise error(f"{role} {url}: server error ({answer}); try again later") from None
    raise error(f"{role} {url}: the server refused the request ({answer}); check the URL") from None


def _identity(info: dict[str, Any]) -> str | None:
    """The first of IDENTITY_KEYS the store's listing gives, or None: the bytes must be hashed."""
    for key in IDENTITY_KEYS:
        if info.get(key) not in (None, ""):
            return f"{key}:{str(info[key]).strip(chr(34))}"
    return None


# ---------------------------------------------------------------- locating inputs


def locate(patterns: list[str], declared: str | None = None, storage_options: dict[str, Any] | None = None, trial: bool = False,
           from_option: bool = False) -> list[Location]:
    """Every input file the patterns name, sorted by path (this is the run order):
    files, globs, directories (every supported file below, sorted; hidden and
    `_`-prefixed ones and curate's run directories skipped) and remote URLs of each.
    `trial` (`--limit`): local files are identified without reading them whole. `from_option`: the patterns came from
    `--input` (relative to the current folder), not the pipeline's `input.path`."""
    options = storage_options or {}
    found: dict[str, Location] = {}
    for pattern in patterns:
        pattern = local_path(pattern)
        located = _locate_remote(pattern, declared, options, trial) if is_url(pattern) else _locate_local(pattern, declared, trial, from_option)
        for location in located:
            found[location.url] = location
    return [found[url] for url in sorted(found)]


def _locate_local(pattern: str, declared: str | None, trial: bool, from_option: bool) -> list[Location]:
    # a path that exists is that file or folder, whatever characters its name holds (`export [1].parquet`)
    matches = [pattern] if Path(pattern).exists() else glob.glob(pattern, recursive=True) if glob.has_magic(pattern) else []
    named, start = ("--input", "the current folder") if from_option else ("input.path", "the pipeline file's folder")
    if not matches:
        raise InputDataError(f"{named} {pattern!r} matches no file; check the path or glob (relative paths start at {start})")
    paths: list[Path] = []
    for match in matches:
        path = resolved(match, "input", InputDataError, f"change {named}")
        if path.is_dir():
            if has_marker(path):
                raise InputDataError(
                    f"input directory {path} is a curate run directory (it holds {MARKER}): its removed rows, manifest "
                    f"and reports are not input; to curate the rows it kept, give {path / 'data'}"
                )
            every = _files_below(path)
            caches = datasets_caches(every, lambda relative: (path / relative).read_bytes(), str(path))
            inside = sorted(path / r for r in every if r not in caches and read_in_folder(r, declared))
            if not inside:
                raise InputDataError(f"input directory {path} holds no supported file ({_supported(declared)}); check the path")
            paths.extend(inside)
        else:  # its format, compression and curate_source come from the name it was given
            try:
                os.stat(match)  # a link the glob matched may lead nowhere
            except OSError as error:
                raise _unreachable(match, error) from None
            paths.append(resolved(match, "input", InputDataError, f"change {named}", keep_name=True))
    locations = []
    for path in paths:
        fmt, compression = format_of(str(path), declared)
        stat = path.stat()
        if not os.access(path, os.R_OK):
            # found here, before any output: the readers' PermissionError names no file, and
            # would read as the output directory's
            raise InputDataError(f"{path}: permission denied, curate cannot read it; fix its permissions or remove it from the input")
        locations.append(Location(str(path), fmt, compression, stat.st_size, None, trial=trial, mtime_ns=stat.st_mtime_ns))
    return locations


def _locate_remote(url: str, declared: str | None, options: dict[str, Any], trial: bool) -> list[Location]:
    fs, path = filesystem(url, options)
    frozen = tuple(sorted(options.items()))
    with remote_errors(url):
        if glob.has_magic(without_query(path)) and not fs.exists(path):  # a key that exists is that key, brackets in its name or not
            matches = {key: info for key, info in fs.glob(path, detail=True).items() if not _hidden_match(key, path)}
            if not matches:
                raise InputDataError(f"input.path {url!r} matches no file; check the URL and glob")
        else:
            matches = {path: fs.info(path)}
        infos: dict[str, dict[str, Any]] = {}
        for key, info in matches.items():
            if info.get("type") == "directory":  # a folder the glob matched is read as the folder named alone, as a local glob's is
                infos.update(_remote_folder(fs, key, url if key == path else fs.unstrip_protocol(key), declared))
            else:
                infos[key] = info
    locations = []
    for key, info in infos.items():
        full = fs.unstrip_protocol(key)
        fmt, compression = format_of(full, declared)
        if info.get("size") == 0 and fmt in ("parquet", "arrow"):  # known from the listing: before any output exists (None: not said)
            raise empty_file(full)
        locations.append(Location(full, fmt, compression, int(info.get("size") or 0), _identity(info), frozen, trial))
    return locations


def _remote_folder(fs: Any, key: str, url: str, declared: str | None) -> dict[str, dict[str, Any]]:
    """The files of a folder in a store (`key` in `fs`, `url` to name it) a run reads, by
    key, with their listing: as for a local folder, every supported file below it."""
    root = key.rstrip("/")
    every = {k[len(root):].lstrip("/"): (k, v) for k, v in fs.find(root, detail=True).items() if v.get("type") != "directory"}
    caches = datasets_caches(list(every), lambda relative: fs.cat_file(every[relative][0]), url.rstrip("/"))
    infos = dict(every[r] for r in every if r not in caches and read_in_folder(r, declared))
    if not infos:
        raise InputDataError(f"input {url}: the folder holds no supported file ({_supported(declared)}); check the URL")
    return infos


def _hidden_match(key: str, pattern: str) -> bool:
    """Whether a store's glob match has a hidden name (`.x`) where the pattern's
    wildcards matched it: a local glob's `*` and `**` pass such names by, fsspec's glob
    does not, and the same glob should read the same files in a store as on disk. A
    pattern that names hidden parts itself (`.*`) keeps them."""
    parts = PurePosixPath(pattern).parts
    first = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    if any(part.startswith(".") for part in parts[first:]):
        return False
    return any(part.startswith(".") for part in PurePosixPath(key).parts[first:])

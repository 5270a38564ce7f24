"""The one module that touches storage. Local folders and `s3://` URLs take the same code path.

Everything is addressed by a URL string: a plain path, a `file://` URL or an `s3://bucket/key`.
fsspec gives one filesystem interface for both; Polars reads Parquet natively from either,
with the storage options this module derives from the settings.

Writes are atomic for readers: a local file is written to a temporary name in the same folder
and renamed into place; an S3 object becomes visible only when its single PUT (or multipart
upload) completes. A reader therefore never sees half a file.
"""

from __future__ import annotations

import errno
import io
import os
import posixpath
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, BinaryIO

import fsspec

from timecard.errors import TimecardError
from timecard.settings import S3Settings, get_settings

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa
    import pyarrow.parquet as pq


class StorageError(TimecardError):
    """S3 could not be reached, or refused a request (no such bucket, access denied, ...)."""


class WriteConflict(Exception):
    """A conditional write found the object changed since it was read (or created meanwhile):
    another writer got there first. Not an error for the user: the caller reads again."""


@dataclass(frozen=True, order=True)
class FileInfo:
    url: str
    size: int
    # ETag on S3, modification time on a local disk: what changes when the file is rewritten.
    version: str
    # What the listing found: "file" (a regular file, or a symbolic link to one), or on a local
    # disk "fifo", "device", "socket", "folder" (a link to one), "dangling" (a broken link).
    kind: str = "file"
    # Where a local symbolic link leads (its resolved path); "" for anything else.
    target: str = ""
    # When it was last written, in seconds since the epoch.
    modified: float = 0.0


def is_s3(url: str) -> bool:
    return url.startswith("s3://")


def normalize(url: str) -> str:
    """Canonical form: `s3://bucket/key` or an absolute local path, no trailing slash."""
    url = str(url)
    if url.startswith("file://"):
        url = url[len("file://") :]
    if is_s3(url):
        return url.rstrip("/")
    return os.path.abspath(os.path.expanduser(url))


def join(base: str, *parts: str) -> str:
    base = normalize(base)
    if is_s3(base):
        return posixpath.join(base, *parts)
    return os.path.join(base, *parts)


def _fs(url: str, s3: S3Settings | None = None) -> tuple[fsspec.AbstractFileSystem, str]:
    url = normalize(url)
    if is_s3(url):
        return _s3_filesystem(s3 or get_settings().s3), url[len("s3://") :]
    return fsspec.filesystem("file"), url


@lru_cache(maxsize=8)
def _s3_filesystem(s3: S3Settings) -> fsspec.AbstractFileSystem:
    from timecard.dependencies import s3fs

    return s3fs.S3FileSystem(
        key=s3.access_key_id,
        secret=s3.secret_access_key,
        token=s3.session_token,
        client_kwargs={"endpoint_url": s3.endpoint_url, "region_name": s3.region},
        # Late-arriving raw files must be seen: never answer a listing from a cache.
        use_listings_cache=False,
        skip_instance_cache=True,
    )


def _url(fs_path: str, like: str) -> str:
    return f"s3://{fs_path}" if is_s3(normalize(like)) else fs_path


# What each kind of request needs the credentials to allow.
_S3_ACTIONS = {
    "list": "s3:ListBucket",
    "read": "s3:GetObject",
    "write": "s3:PutObject",
    "delete": "s3:DeleteObject",
}
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_DENIED = {errno.EACCES, errno.EPERM}
_UNREACHABLE = (
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ConnectionClosedError",
    "ReadTimeoutError",
    "ProxyConnectionError",
)


def _detail(error: BaseException) -> str:
    text = str(error).strip()
    # Polars (object_store) prefixes its errors; the first line carries the request.
    text = text.removeprefix("object-store error: ").strip()
    return (text.splitlines() or [type(error).__name__])[0][:300]


def store_failure(doing: str, url: str, error: BaseException) -> StorageError | None:
    """The one-paragraph StorageError for `error` when the store failed (S3 could not be
    reached, refused the request, throttled or failed it; the local disk refused): a fault of
    the environment, named with the URL and what to check. None when `error` is not the
    store's fault (a missing file a caller expects, or bad content): the caller explains it.

    `doing` is list, read, write or delete."""
    if isinstance(error, StorageError):
        return error
    url = normalize(url)
    if is_s3(url):
        return _s3_failure(doing, url, error)
    return _local_failure(doing, url, error)


def _s3_failure(doing: str, url: str, error: BaseException) -> StorageError | None:
    try:
        from botocore.exceptions import BotoCoreError, NoCredentialsError, PartialCredentialsError
    except ImportError:  # pragma: no cover - s3fs brings botocore
        return None
    name, detail = type(error).__name__, _detail(error)
    text = str(error)
    endpoint = get_settings().s3.endpoint_url or "the AWS default endpoint"
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return StorageError(
            f"Could not {doing} {url}: no S3 credentials were found ({detail}). Set "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or give the Airflow connection or "
            "the machine a role with access to the bucket), then run again."
        )
    if not isinstance(error, BotoCoreError | OSError):
        return None
    if isinstance(error, FileNotFoundError) and doing in ("read", "delete"):
        return None  # a missing object: the caller knows whether that is expected
    # s3fs turns every S3 error code into an OSError with an errno; object_store (Polars)
    # prefixes its own. Any other OSError (a damaged gzip stream) is about the content.
    if (
        not isinstance(
            error,
            BotoCoreError | ConnectionError | TimeoutError | PermissionError | FileNotFoundError,
        )
        and error.errno is None
        and not text.startswith("object-store error")
    ):
        return None
    if (
        name in _UNREACHABLE
        or isinstance(error, ConnectionError | TimeoutError)
        or "error sending request" in text
    ):
        return StorageError(
            f"Could not {doing} {url}: the S3 endpoint {endpoint} could not be reached, or "
            f"cut the connection, still after retries ({detail}). Check the endpoint "
            "(AWS_ENDPOINT_URL), the network and that the service is up, then run again."
        )
    if isinstance(error, PermissionError) or "AccessDenied" in text or " 403 " in text:
        return StorageError(
            f"Could not {doing} {url}: S3 denied access ({detail}). Check that the credentials "
            f"are the right ones and that they allow {_S3_ACTIONS.get(doing, doing)} on this "
            "bucket and prefix, then run again."
        )
    if getattr(error, "errno", None) == errno.EBUSY or "SlowDown" in text or " 503 " in text:
        return StorageError(
            f"Could not {doing} {url}: S3 kept answering 503 Slow Down, still after retries "
            f"({detail}). The bucket is throttling requests: run again later, with fewer runs "
            "at once, or allow more attempts (AWS_MAX_ATTEMPTS)."
        )
    if isinstance(error, FileNotFoundError):
        return StorageError(
            f"Could not {doing} {url}: the bucket does not exist ({detail}). Check the bucket "
            "name in the setting that gave this URL, and the endpoint, then run again."
        )
    if (
        getattr(error, "errno", None) == errno.EREMOTEIO
        or "InternalError" in text
        or (re.search(r" 5\d\d ", text))
    ):
        return StorageError(
            f"Could not {doing} {url}: S3 answered with a server error, still after retries "
            f"({detail}). The store failed, not the data: run again; if it persists, "
            "check the S3 service and endpoint."
        )
    message = (
        f"Could not {doing} {url}: {detail}. Check the S3 endpoint, the bucket and the "
        "credentials, then run again."
    )
    if doing == "write":
        message += " No reader sees a partial file: an S3 object appears only once it is whole."
    return StorageError(message)


def _local_failure(doing: str, url: str, error: BaseException) -> StorageError | None:
    code = getattr(error, "errno", None)
    if not isinstance(error, OSError) or code is None:
        return None
    path = getattr(error, "filename", None) or url
    # A write goes through a temporary file beside its target: name the target the user gave.
    if doing == "write" and os.path.basename(str(path)).startswith("."):
        path = url
    reason = error.strerror or _detail(error)
    if code == errno.ENOENT and os.path.islink(url) and not os.path.exists(url):
        return StorageError(
            f"Could not {doing} {url}: it is a symbolic link to {os.readlink(url)}, which does "
            "not exist. Restore the link's target, or remove the link, then run again."
        )
    if code == errno.ENOENT and doing in ("read", "delete", "list"):
        return None  # a missing file: the caller knows whether that is expected
    if code in _DISK_FULL:
        return StorageError(
            f"Could not {doing} {url}: {reason} (the disk, or this process's file size limit, "
            "is full). Free space on the file system that holds it, or point the setting that "
            "gave this path elsewhere, then run again. Nothing partial was left under its name."
        )
    if code in _DENIED:
        return StorageError(
            f"Could not {doing} {url}: permission denied ({path}). Check that the user running "
            "timecard may read and write there (owner, mode, mount options), then run again."
        )
    if code == errno.EROFS:
        return StorageError(
            f"Could not {doing} {url}: the file system is read-only. Choose a writable place, "
            "then run again."
        )
    if code == errno.EISDIR:
        return StorageError(
            f"Could not {doing} {url}: it is a folder, not a file. Name a file (for example "
            f"{os.path.join(url, 'report.csv')}), then run again."
        )
    if code in (errno.ENOENT, errno.ENOTDIR):
        return StorageError(
            f"Could not {doing} {url}: its folder {os.path.dirname(url)} does not exist, cannot "
            "hold files, or a part of the path is a file. Name a file in a writable folder, "
            "then run again."
        )
    return StorageError(
        f"Could not {doing} {url}: {reason}. Check the path, its permissions and the disk, "
        "then run again."
    )


@contextmanager
def failures_explained(doing: str, url: str) -> Iterator[None]:
    """A storage failure (see `store_failure`) becomes a one-paragraph StorageError naming the
    URL, not a traceback from deep inside botocore, Polars or the OS (nor "a bug in timecard"
    on the command line). Anything else passes through unchanged."""
    try:
        yield
    except StorageError:
        raise
    except Exception as error:
        failure = store_failure(doing, url, error)
        if failure is None:
            raise
        raise failure from error


_s3_failures_explained = failures_explained  # the name earlier code used


def list_files(prefix: str) -> list[FileInfo]:
    """Every file below `prefix` (recursively), sorted by URL. A missing prefix is empty; a
    missing bucket is an error, so a mistyped bucket cannot pass for a day without events."""
    fs, path = _fs(prefix)
    with failures_explained("list", prefix):
        try:
            found = fs.find(path, detail=True)
        except FileNotFoundError as error:
            if is_s3(normalize(prefix)):  # on S3 only a missing bucket raises this; a prefix is []
                failure = _s3_failure("list", normalize(prefix), error)
                raise (failure or StorageError(f"Could not list {prefix}: {error}")) from error
            return []
    files = []
    folders: dict[str, str] = {}  # each folder's resolved path, found once per listing
    on_s3 = is_s3(normalize(prefix))
    for fs_path, info in found.items():
        if info.get("type") == "directory":
            continue
        version = info.get("ETag") or info.get("etag") or str(info.get("mtime", ""))
        kind, target = ("file", "") if on_s3 else _local_kind(fs_path, info, folders)
        url = f"s3://{fs_path}" if on_s3 else fs_path
        modified = info.get("LastModified")
        modified = modified.timestamp() if modified is not None else info.get("mtime") or 0.0
        size = int(info.get("size") or 0)
        files.append(FileInfo(url, size, str(version), kind, target, float(modified)))
    return sorted(files)


def _local_kind(path: str, info: dict, folders: dict[str, str] | None = None) -> tuple[str, str]:
    """(kind, resolved target) of a listed local entry (see `FileInfo`): stated, never opened,
    so a named pipe or a device is never read. The target is set when the path leads through a
    symbolic link (the entry's own, or a linked folder above it). `folders` remembers the
    resolved folders of one listing: an entry that is no link resolves to its resolved folder
    and its own name, without resolving every folder above it again."""
    if info.get("islink") or folders is None:
        real = os.path.realpath(path)
    else:
        folder, name = os.path.split(path)
        if folder not in folders:
            folders[folder] = os.path.realpath(folder)
        real = os.path.join(folders[folder], name)
    target = real if info.get("islink") or real != os.path.abspath(path) else ""
    if info.get("type") == "file" and not info.get("islink"):
        return "file", target
    import stat

    try:
        mode = os.stat(path).st_mode  # follows a link
    except OSError:
        return "dangling", target
    for test, kind in (
        (stat.S_ISREG, "file"),
        (stat.S_ISDIR, "folder"),
        (stat.S_ISFIFO, "fifo"),
        (stat.S_ISSOCK, "socket"),
    ):
        if test(mode):
            return kind, target
    return "device", target


def list_names(prefix: str) -> list[tuple[str, bool]]:
    """(name, is a folder) of what lies directly below `prefix`, sorted; none if it is missing."""
    fs, path = _fs(prefix)
    with failures_explained("list", prefix):
        try:
            entries = fs.ls(path, detail=True)
        except (FileNotFoundError, NotADirectoryError):
            return []
    return sorted(
        (posixpath.basename(entry["name"].rstrip("/")), entry.get("type") == "directory")
        for entry in entries
    )


def exists(url: str) -> bool:
    fs, path = _fs(url)
    with failures_explained("read", url):
        return fs.exists(path)


def read_bytes(url: str) -> bytes:
    """The whole file. A missing one raises FileNotFoundError; a store failure StorageError."""
    fs, path = _fs(url)
    with failures_explained("read", url):
        return fs.cat_file(path)


def read_bytes_as(url: str, s3: S3Settings) -> bytes:
    """The whole file, through S3 access resolved elsewhere: a scan worker process is handed
    its parent's, so it never resolves settings or credentials of its own. Failures are raised
    as they come, unexplained: the caller reads the file again with `read_bytes`, which
    explains them."""
    if not is_s3(normalize(url)):
        with open(normalize(url), "rb") as handle:
            return handle.read()
    fs, path = _fs(url, s3)
    return fs.cat_file(path)


def read_head(url: str, size: int) -> bytes:
    fs, path = _fs(url)
    with failures_explained("read", url), fs.open(path, "rb") as handle:
        return handle.read(size)


def write_bytes(url: str, data: bytes) -> None:
    """Write a whole object so that no reader ever sees it partially written."""
    fs, path = _fs(url)
    with failures_explained("write", url):
        if is_s3(normalize(url)):
            fs.pipe_file(path, data)
            return
        _write_local(path, data)


@contextmanager
def write_stream(url: str) -> Iterator[BinaryIO]:
    """A file written a piece at a time that no reader sees until it is whole: a local temporary
    file renamed into place at the end, or an S3 multipart upload completed at the end. On an
    error nothing is left behind (the temporary file is removed, the upload aborted)."""
    fs, path = _fs(url)
    if is_s3(normalize(url)):
        with failures_explained("write", url):
            handle = fs.open(path, "wb")
        try:
            yield handle
        except BaseException:
            handle.discard()
            raise
        with failures_explained("write", url):
            handle.close()
        return
    folder = os.path.dirname(path)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{uuid.uuid4().hex}.tmp")
    try:
        with failures_explained("write", url):
            os.makedirs(folder, exist_ok=True)
            handle = open(tmp, "wb")  # noqa: SIM115 - closed below, before the rename
        with handle:
            yield handle
            with failures_explained("write", url):
                handle.flush()
                os.fsync(handle.fileno())
        with failures_explained("write", url):
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _write_local(path: str, data: bytes) -> None:
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _local_version(path: str) -> str | None:
    """What changes whenever a local file is replaced: each atomic rename brings a new inode."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return f"{stat.st_ino}-{stat.st_mtime_ns}-{stat.st_size}"


def read_versioned(url: str) -> tuple[bytes, str] | None:
    """The bytes of `url` and its version (the ETag on S3), for a later `write_if`; None if
    it does not exist."""
    fs, path = _fs(url)
    if is_s3(normalize(url)):
        with _s3_failures_explained("read", url):
            try:
                response = fs.call_s3("get_object", **_bucket_key(path))
            except FileNotFoundError:
                return None
            body = response["Body"]
            try:
                data = _sync(fs, body.read())
            finally:
                body.close()
        return data, response["ETag"]
    with _local_lock(path):
        version = _local_version(path)
        if version is None:
            return None
        with open(path, "rb") as handle:
            return handle.read(), version


def write_if(url: str, data: bytes, version: str | None) -> str:
    """Write `url` whole only if it is still at `version` (None: only if it does not exist);
    returns the new version. Raises WriteConflict when another writer changed it first.

    S3: one PutObject with `If-Match: <etag>` (or `If-None-Match: *`), which S3 evaluates
    atomically. Local disk: the check and the atomic rename under an exclusive OS lock (fcntl)
    held by every conditional reader and writer of the file.
    """
    fs, path = _fs(url)
    if is_s3(normalize(url)):
        condition = {"IfNoneMatch": "*"} if version is None else {"IfMatch": version}
        with _s3_failures_explained("write", url):
            try:
                response = fs.call_s3("put_object", **_bucket_key(path), Body=data, **condition)
            except OSError as error:
                if _precondition_failed(error):
                    raise WriteConflict(url) from error
                raise
        return response["ETag"]
    with _local_lock(path):
        if _local_version(path) != version:
            raise WriteConflict(url)
        write_bytes(path, data)
        written = _local_version(path)
        if written is None:  # deleted right after the rename, by a process that took no lock
            raise WriteConflict(url)
        return written


def _precondition_failed(error: BaseException | None) -> bool:
    while error is not None:
        response = getattr(error, "response", None)
        if isinstance(response, dict):
            code = response.get("Error", {}).get("Code")
            if code in ("PreconditionFailed", "ConditionalRequestConflict", "412"):
                return True
        if "PreconditionFailed" in str(error) or "412" in str(error).split(":")[0]:
            return True
        error = error.__cause__ or error.__context__
    return False


def _bucket_key(path: str) -> dict[str, str]:
    bucket, _, key = path.partition("/")
    return {"Bucket": bucket, "Key": key}


def _sync(fs, coroutine):
    from fsspec.asyn import sync

    return sync(fs.loop, lambda: coroutine)


@contextmanager
def _local_lock(path: str) -> Iterator[None]:
    """An exclusive OS lock (fcntl) on `.<name>.lock` beside a local file: released by the OS
    when its holder dies, so a killed process never leaves it held."""
    import fcntl

    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    handle = os.open(
        os.path.join(folder, f".{os.path.basename(path)}.lock"), os.O_RDWR | os.O_CREAT
    )
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing releases the lock


@contextmanager
def exclusive(url: str) -> Iterator[bool]:
    """Serialise the writers of `url` for the duration of the block, where the store allows it.

    Local disk: an OS file lock (fcntl), held until the block ends or the process dies; yields
    True. S3 offers no lock: yields False at once, and the writers rely on `write_if` instead.
    """
    if is_s3(normalize(url)):
        yield False
        return
    import fcntl

    _, path = _fs(url)
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    handle = os.open(
        os.path.join(folder, f".{os.path.basename(path)}.publish.lock"), os.O_RDWR | os.O_CREAT
    )
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield True
    finally:
        os.close(handle)


def version(url: str) -> str | None:
    """The current version of `url` (as `read_versioned` gives it), None if it does not exist."""
    fs, path = _fs(url)
    if is_s3(normalize(url)):
        with _s3_failures_explained("read", url):
            try:
                return fs.call_s3("head_object", **_bucket_key(path))["ETag"]
            except FileNotFoundError:
                return None
    with _local_lock(path):
        return _local_version(path)


def copy(source: str, destination: str) -> None:
    """Copy one whole object onto another (server-side on S3); a reader of `destination` sees
    the old object or the new one, never a mix. FileNotFoundError if `source` is missing."""
    fs, path = _fs(source)
    if is_s3(normalize(source)) and is_s3(normalize(destination)):
        _, target = _fs(destination)
        missing = False
        with _s3_failures_explained("write", destination):
            try:
                fs.copy(path, target)
            except FileNotFoundError:
                missing = True  # not a store failure: the caller decides
        if missing:
            raise FileNotFoundError(source)
        return
    write_bytes(destination, read_bytes(source))


def delete(url: str) -> None:
    """Remove the file at `url`, or every file below it; nothing there is not an error. A
    delete the store refuses raises, on S3 as on disk."""
    fs, path = _fs(url)
    with failures_explained("delete", url):
        if not is_s3(normalize(url)):
            if fs.exists(path):
                fs.rm(path, recursive=True)
            return
        # One DeleteObject per object, not s3fs's batch DeleteObjects: that call answers 200
        # with a per-key error list, which s3fs drops, so a refused delete (a policy without
        # s3:DeleteObject there) would pass unnoticed, leaving, say, the public copy of a
        # format a report no longer publishes. timecard's deletes are a few objects each.
        for key in [path] if fs.isfile(path) else fs.find(path):
            fs.rm_file(key)


def polars_storage_options(url: str) -> dict[str, str] | None:
    """The storage options Polars needs to reach `url` natively (None for local files)."""
    if not is_s3(normalize(url)):
        return None
    s3 = get_settings().s3
    options = {"aws_region": s3.region}
    if s3.endpoint_url:
        options["aws_endpoint_url"] = s3.endpoint_url
        options["aws_allow_http"] = str(s3.endpoint_url.startswith("http://")).lower()
    if s3.access_key_id:
        options["aws_access_key_id"] = s3.access_key_id
    if s3.secret_access_key:
        options["aws_secret_access_key"] = s3.secret_access_key
    if s3.session_token:
        options["aws_session_token"] = s3.session_token
    return options


def scan_parquet(url: str | list[str], **kwargs) -> pl.LazyFrame:
    """A lazy scan of one Parquet file, or of several (all local, or all on S3) in one plan."""
    import polars as pl

    urls = [url] if isinstance(url, str) else url
    paths = [normalize(one) for one in urls]
    return pl.scan_parquet(
        paths[0] if isinstance(url, str) else paths,
        storage_options=polars_storage_options(urls[0]),
        **kwargs,
    )


def read_parquet_columns(
    url: str,
    columns: list[str],
    row_groups: list[int] | None = None,
    dictionaries: list[str] | None = None,
) -> pa.Table:
    """Some columns of a Parquet file with pyarrow, which reads only the named leaves of a
    nested column ("Snapshot.Configuration.Username"); Polars decodes a struct whole. With
    `row_groups`, only those (on every core); `dictionaries`: leaves read as dictionaries
    (their text is not decoded row by row)."""
    from timecard.dependencies import pyarrow_parquet as pq

    fs, path = _fs(url)
    with failures_explained("read", url), fs.open(path, "rb") as handle:
        file = pq.ParquetFile(handle, read_dictionary=dictionaries)
        if row_groups is None:
            return file.read(columns=columns, use_threads=False)
        return file.read_row_groups(row_groups, columns=columns, use_threads=True)


def read_parquet_metadata(url: str) -> pq.FileMetaData:
    """A Parquet file's footer (row groups, their rows and sizes), read with pyarrow: only the
    footer is fetched, never the data."""
    from timecard.dependencies import pyarrow_parquet as pq

    fs, path = _fs(url)
    with failures_explained("read", url), fs.open(path, "rb") as handle:
        return pq.ParquetFile(handle).metadata


def read_parquet_schema(url: str) -> pl.Schema:
    with failures_explained("read", url):
        return scan_parquet(url).collect_schema()


def write_parquet(url: str, frame: pl.DataFrame) -> None:
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", statistics=True)
    write_bytes(url, buffer.getvalue())


def read_parquet(url: str) -> pl.DataFrame:
    with failures_explained("read", url):
        return scan_parquet(url).collect()

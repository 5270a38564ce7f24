"""The one module that touches storage. Local folders and `s3://` URLs take the same code path.

Everything is addressed by a URL string: a plain path, a `file://` URL or an `s3://bucket/key`.
fsspec gives one filesystem interface for both; Polars reads Parquet natively from either,
with the storage options this module derives from the settings.

Writes are atomic for readers: a local file is written to a temporary name in the same folder
and renamed into place; an S3 object becomes visible only when its single PUT (or multipart
upload) completes. A reader therefore never sees half a file.
"""

from __future__ import annotations

import io
import os
import posixpath
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import fsspec

from timecard.errors import TimecardError
from timecard.settings import S3Settings, get_settings

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa


class StorageError(TimecardError):
    """S3 could not be reached, or refused a request (no such bucket, access denied, ...)."""


@dataclass(frozen=True, order=True)
class FileInfo:
    url: str
    size: int
    # ETag on S3, modification time on a local disk: what changes when the file is rewritten.
    version: str


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


def _fs(url: str) -> tuple[fsspec.AbstractFileSystem, str]:
    url = normalize(url)
    if is_s3(url):
        return _s3_filesystem(get_settings().s3), url[len("s3://") :]
    return fsspec.filesystem("file"), url


@lru_cache(maxsize=8)
def _s3_filesystem(s3: S3Settings) -> fsspec.AbstractFileSystem:
    import s3fs

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


def _storage_error(doing: str, url: str, error: Exception) -> StorageError:
    detail = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
    message = (
        f"Could not {doing} {url}: {detail}. Check the S3 endpoint, the bucket and the "
        "credentials, then run again."
    )
    if doing == "write":
        message += " No reader sees a partial file: an S3 object appears only once it is whole."
    return StorageError(message)


@contextmanager
def _s3_failures_explained(doing: str, url: str) -> Iterator[None]:
    """A failed S3 request becomes a one-paragraph StorageError naming the URL, not a traceback
    from deep inside botocore (nor "a bug in timecard" on the command line)."""
    if not is_s3(normalize(url)):
        yield
        return
    from botocore.exceptions import BotoCoreError

    try:
        yield
    except (OSError, BotoCoreError) as error:
        raise _storage_error(doing, url, error) from error


def list_files(prefix: str) -> list[FileInfo]:
    """Every file below `prefix` (recursively), sorted by URL. A missing prefix is empty; a
    missing bucket is an error, so a mistyped bucket cannot pass for a day without events."""
    fs, path = _fs(prefix)
    try:
        found = fs.find(path, detail=True)
    except FileNotFoundError as error:
        if is_s3(normalize(prefix)):  # on S3 only a missing bucket raises this; a prefix is []
            raise _storage_error("list", prefix, error) from error
        return []
    files = []
    for fs_path, info in found.items():
        if info.get("type") == "directory":
            continue
        version = info.get("ETag") or info.get("etag") or str(info.get("mtime", ""))
        files.append(FileInfo(_url(fs_path, prefix), int(info.get("size") or 0), str(version)))
    return sorted(files)


def list_names(prefix: str) -> list[tuple[str, bool]]:
    """(name, is a folder) of what lies directly below `prefix`, sorted; none if it is missing."""
    fs, path = _fs(prefix)
    with _s3_failures_explained("list", prefix):
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
    return fs.exists(path)


def read_bytes(url: str) -> bytes:
    fs, path = _fs(url)
    return fs.cat_file(path)


def read_head(url: str, size: int) -> bytes:
    fs, path = _fs(url)
    with fs.open(path, "rb") as handle:
        return handle.read(size)


def write_bytes(url: str, data: bytes) -> None:
    """Write a whole object so that no reader ever sees it partially written."""
    fs, path = _fs(url)
    if is_s3(normalize(url)):
        with _s3_failures_explained("write", url):
            fs.pipe_file(path, data)
        return
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


def delete(url: str) -> None:
    fs, path = _fs(url)
    with _s3_failures_explained("delete", url):
        if fs.exists(path):
            fs.rm(path, recursive=True)


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


def read_parquet_columns(url: str, columns: list[str]) -> pa.Table:
    """Some columns of a Parquet file with pyarrow, which reads only the named leaves of a
    nested column ("Snapshot.Configuration.Username"); Polars decodes a struct whole."""
    import pyarrow.parquet as pq

    fs, path = _fs(url)
    with fs.open(path, "rb") as handle:
        return pq.ParquetFile(handle).read(columns=columns, use_threads=False)


def read_parquet_schema(url: str) -> pl.Schema:
    return scan_parquet(url).collect_schema()


def write_parquet(url: str, frame: pl.DataFrame) -> None:
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", statistics=True)
    write_bytes(url, buffer.getvalue())


def read_parquet(url: str) -> pl.DataFrame:
    return scan_parquet(url).collect()

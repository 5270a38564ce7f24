"""timecard.storage: one set of functions for local folders and S3 (a real S3 API on loopback)."""

from __future__ import annotations

import os

import boto3
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tests.builders import iam_enforced, iam_user_keys, s3_client
from timecard import storage

FRAME = pl.DataFrame({"agent": ["a1", "a2", "김민준"], "seconds": [1, 22, 333]})


# -- local folders ----------------------------------------------------------------------------


def test_local_write_bytes_creates_folders_overwrites_and_leaves_no_temporary_file(tmp_path):
    target = str(tmp_path / "out" / "deeper" / "r.csv")

    storage.write_bytes(target, b"first")
    storage.write_bytes(target, b"second, longer")

    assert storage.read_bytes(target) == b"second, longer"
    assert os.listdir(tmp_path / "out" / "deeper") == ["r.csv"]


def test_local_write_that_fails_midway_keeps_the_old_file_and_no_temporary_file(tmp_path):
    target = str(tmp_path / "r.csv")
    storage.write_bytes(target, b"good")

    with pytest.raises(TypeError):
        storage.write_bytes(target, "text, not bytes")  # fails after the temporary file exists

    assert storage.read_bytes(target) == b"good"
    assert os.listdir(tmp_path) == ["r.csv"]


def test_local_list_files_is_recursive_sorted_and_empty_for_a_missing_prefix(tmp_path):
    storage.write_bytes(str(tmp_path / "p" / "b.json"), b"12345")
    storage.write_bytes(str(tmp_path / "p" / "sub" / "a.json"), b"1")
    storage.write_bytes(str(tmp_path / "p2" / "sibling.json"), b"1")

    listed = storage.list_files(str(tmp_path / "p"))

    assert [(f.url, f.size) for f in listed] == [
        (str(tmp_path / "p" / "b.json"), 5),
        (str(tmp_path / "p" / "sub" / "a.json"), 1),
    ]
    assert all(f.version for f in listed)
    assert storage.list_files(str(tmp_path / "missing")) == []


def test_normalize_and_join_give_one_canonical_form():
    assert storage.normalize("s3://bucket/events/") == "s3://bucket/events"
    assert storage.join("s3://bucket/events/", "date=2026-11-02") == (
        "s3://bucket/events/date=2026-11-02"
    )
    assert storage.normalize("file:///data/events") == "/data/events"
    assert storage.polars_storage_options("/data/events") is None


# -- the same functions against S3 ------------------------------------------------------------


def _raw_keys(bucket_url: str, s3_server: str) -> list[str]:
    """What is in the bucket, asked of S3 directly rather than through timecard."""
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
    )
    listed = client.list_objects_v2(Bucket=bucket_url.removeprefix("s3://"))
    return [item["Key"] for item in listed.get("Contents", [])]


def test_s3_write_read_exists_delete(s3_bucket, s3_server):
    url = storage.join(s3_bucket, "out", "r.csv")

    assert not storage.exists(url)
    storage.write_bytes(url, b"first")
    storage.write_bytes(url, b"second")

    assert storage.exists(url)
    assert storage.read_bytes(url) == b"second"
    assert storage.read_head(url, 3) == b"sec"
    assert _raw_keys(s3_bucket, s3_server) == ["out/r.csv"]

    storage.delete(url)
    assert not storage.exists(url)
    assert _raw_keys(s3_bucket, s3_server) == []
    storage.delete(url)  # deleting what is gone is not an error


def test_s3_delete_of_a_folder_removes_what_is_below_it_only(s3_bucket, s3_server):
    for key in ("p/b.json", "p/sub/a.json", "p2/sibling.json", "p.json"):
        storage.write_bytes(f"{s3_bucket}/{key}", b"1")

    storage.delete(f"{s3_bucket}/p")

    assert _raw_keys(s3_bucket, s3_server) == ["p.json", "p2/sibling.json"]


def test_s3_a_refused_delete_is_an_error_naming_it_never_a_silent_leftover(
    iam_s3_server, monkeypatch
):
    # S3's batch DeleteObjects answers 200 with the refused keys in its body: they must not be
    # lost. The policy allows everything but deleting.
    bucket = "kept"
    s3_client(iam_s3_server).create_bucket(Bucket=bucket)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"},
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": f"arn:aws:s3:::{bucket}/*",
            },
        ],
    }
    for name, value in iam_user_keys(iam_s3_server, "no-delete", policy).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", iam_s3_server)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with iam_enforced():
        storage.write_bytes(f"s3://{bucket}/a.csv", b"1")
        storage.write_bytes(f"s3://{bucket}/folder/b.csv", b"1")
        for url in (f"s3://{bucket}/a.csv", f"s3://{bucket}/folder"):
            with pytest.raises(storage.StorageError, match="s3:DeleteObject") as refused:
                storage.delete(url)
            assert f"Could not delete {url}" in str(refused.value)
        assert storage.exists(f"s3://{bucket}/a.csv")
        assert storage.exists(f"s3://{bucket}/folder/b.csv")


def test_s3_list_files_recursive_with_etags_and_empty_for_a_missing_prefix(s3_bucket):
    storage.write_bytes(f"{s3_bucket}/p/b.json", b"12345")
    storage.write_bytes(f"{s3_bucket}/p/sub/a.json", b"1")
    storage.write_bytes(f"{s3_bucket}/other/c.json", b"1")
    storage.write_bytes(f"{s3_bucket}/p2/sibling.json", b"1")  # shares the text prefix "p"

    listed = storage.list_files(f"{s3_bucket}/p")

    assert [(f.url, f.size) for f in listed] == [
        (f"{s3_bucket}/p/b.json", 5),
        (f"{s3_bucket}/p/sub/a.json", 1),
    ]
    assert storage.list_files(f"{s3_bucket}/missing") == []


def test_s3_version_changes_when_an_object_is_rewritten_with_the_same_size(s3_bucket):
    url = f"{s3_bucket}/p/a.json"
    storage.write_bytes(url, b"aaaa")
    before = storage.list_files(f"{s3_bucket}/p")

    storage.write_bytes(url, b"bbbb")
    after = storage.list_files(f"{s3_bucket}/p")

    assert before[0].size == after[0].size
    assert before[0].version != after[0].version


def test_s3_parquet_round_trip_through_polars_storage_options(s3_bucket):
    url = storage.join(s3_bucket, "cache", "frame.parquet")

    storage.write_parquet(url, FRAME)

    options = storage.polars_storage_options(url)
    assert options["aws_endpoint_url"].startswith("http://127.0.0.1")
    assert options["aws_allow_http"] == "true"
    assert_frame_equal(storage.read_parquet(url), FRAME)
    assert storage.read_parquet_schema(url) == FRAME.schema
    filtered = storage.scan_parquet(url).filter(pl.col("seconds") > 1).select("agent").collect()
    assert sorted(filtered["agent"]) == ["a2", "김민준"]


def test_local_parquet_round_trip(tmp_path):
    url = str(tmp_path / "cache" / "frame.parquet")

    storage.write_parquet(url, FRAME)

    assert_frame_equal(storage.read_parquet(url), FRAME)


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path) -> str:
    """A folder on local disk, or a prefix in a bucket of the moto S3 server."""
    if request.param == "local":
        return str(tmp_path / "store")
    return storage.join(request.getfixturevalue("s3_bucket"), "store")


def test_write_if_creates_only_what_is_missing_and_replaces_only_the_version_read(store):
    """The conditional write publishing commits with: If-None-Match / If-Match on S3 (the moto
    server honours both), a check under an fcntl lock plus atomic rename on local disk."""
    url = storage.join(store, "m.json")
    assert storage.read_versioned(url) is None and storage.version(url) is None
    first = storage.write_if(url, b"one", None)
    with pytest.raises(storage.WriteConflict):
        storage.write_if(url, b"two", None)  # created meanwhile by another writer
    assert storage.read_versioned(url) == (b"one", first)
    second = storage.write_if(url, b"two", first)
    with pytest.raises(storage.WriteConflict):
        storage.write_if(url, b"three", first)  # replaced meanwhile: a stale version
    assert storage.read_versioned(url) == (b"two", second) and storage.version(url) == second
    assert storage.read_bytes(url) == b"two"


def test_copy_replaces_the_target_whole_and_reports_a_missing_source(store):
    source, target = storage.join(store, "a.csv"), storage.join(store, "b.csv")
    storage.write_bytes(source, b"new")
    storage.write_bytes(target, b"old")
    storage.copy(source, target)
    assert storage.read_bytes(target) == b"new"
    with pytest.raises(FileNotFoundError):
        storage.copy(storage.join(store, "missing.csv"), target)
    assert [file.modified > 0 for file in storage.list_files(store)] == [True, True]


def test_exclusive_locks_local_disk_and_leaves_s3_to_conditional_writes(store):
    with storage.exclusive(storage.join(store, "m.json")) as held:
        assert held is (not storage.is_s3(store))

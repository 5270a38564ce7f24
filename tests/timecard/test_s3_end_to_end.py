"""A whole report read from and written to S3 (a real S3 API server on loopback) equals the same
report run on a local copy of the data, byte for byte."""

from __future__ import annotations

import os

from tests.builders import S3_KEY, S3_SECRET, arn, event, upload_tree, write_ndjson, write_parquet
from timecard import storage
from timecard.cli import main

# The UTC day 2026-11-02 seen from Seoul. A one-day lookback keeps the S3 round trips few.
WINDOW = [
    *("--start", "2026-11-02T09:00:00", "--end", "2026-11-03T09:00:00"),
    *("--tz", "Asia/Seoul", "--lookback-days", "1"),
]


def write_raw_events(root: str) -> None:
    """Three UTC days in three layouts and both formats, with the cases a report must handle."""
    write_parquet(
        root,
        "2026-11-01",
        [event("LOGIN", "2026-11-01T23:00:00Z", "a1", username="=cmd", last_name="Kim, Jr.")],
        layout="date",
    )
    write_ndjson(
        root,
        "2026-11-02",
        [
            event("LOGOUT", "2026-11-02T02:00:00.900Z", "a1", username="=cmd"),
            event("LOGIN", "2026-11-02T01:00:00Z", "a2", username="minjun", last_name="김"),
            event("HEART_BEAT", "2026-11-02T01:02:00Z", "a2"),
            event("STATE_CHANGE", "2026-11-02T03:00:00.750Z", "a2"),
            event("LOGIN", "2026-11-02T04:00:00+09:00", "a3", username="jdoe", hierarchy=None),
            {**event("LOGOUT", "2026-11-02T05:00:00Z", "a3"), "EventId": None},  # quarantined
        ],
        name="stream-1-2026-11-02-13-00-00.gz",
        layout="firehose",
        compress=True,
    )
    write_parquet(
        root,
        "2026-11-02",
        [event("LOGOUT", "2026-11-02T06:30:00Z", "a3", username="jdoe", hierarchy=None)],
        layout="ymd",
    )
    # What a Spark/Glue job leaves while it writes: not data, must not break either report.
    storage.write_bytes(
        os.path.join(root, "year=2026", "month=11", "day=02", "_temporary", "0", "part-1"), b"{"
    )
    # A late arrival: happened on the 2nd, filed under the 3rd.
    write_ndjson(
        root, "2026-11-03", [event("LOGIN", "2026-11-02T23:30:00Z", "a1", username="=cmd")]
    )


def run_report(events: str, out: str, cache: str) -> int:
    return main(["report", "--events", events, *WINDOW, "--out", out, "--cache", cache])


def test_a_report_on_s3_is_byte_identical_to_the_same_report_on_local_files(
    tmp_path, s3_bucket, s3_server, capsys
):
    local_events = str(tmp_path / "events")
    write_raw_events(local_events)
    assert upload_tree(local_events, f"{s3_bucket}/events", s3_server) == 5

    assert run_report(local_events, str(tmp_path / "r.csv"), str(tmp_path / "cache")) == 0
    local_csv = storage.read_bytes(str(tmp_path / "r.csv"))
    capsys.readouterr()

    s3_out = f"{s3_bucket}/out/r.csv"
    assert run_report(f"{s3_bucket}/events", s3_out, f"{s3_bucket}/cache") == 0
    first_run = capsys.readouterr().err

    assert storage.read_bytes(s3_out) == local_csv
    assert local_csv.decode().splitlines() == [
        "Username,First name,Last name,Routing profile,Hierarchy level 1,Hierarchy level 2,"
        "Hierarchy level 3,Hierarchy level 4,Hierarchy level 5,Login time,Logout time,"
        "Session duration,Session duration (seconds),Last activity,Agent ARN",
        '\'=cmd,Min-jun,"Kim, Jr.",Sales Inbound,Americas,Sales,,,,2026-11-02T08:00:00+09:00,'
        f"2026-11-02T11:00:00+09:00,3:00:00,10800,,{arn('a1')}",
        # No logout yet: its only activity is the late-arriving LOGIN itself.
        "'=cmd,Min-jun,Kim,Sales Inbound,Americas,Sales,,,,2026-11-03T08:30:00+09:00,,,,"
        f"2026-11-03T08:30:00+09:00,{arn('a1')}",
        "jdoe,Min-jun,Kim,Sales Inbound,,,,,,2026-11-02T04:00:00+09:00,"
        "2026-11-02T15:30:00+09:00,11:30:00,41400,,"
        f"{arn('a3')}",
        "minjun,Min-jun,김,Sales Inbound,Americas,Sales,,,,2026-11-02T10:00:00+09:00,,,,"
        f"2026-11-02T12:00:00+09:00,{arn('a2')}",
    ]
    assert "quarantined 1," in first_run
    assert S3_SECRET not in first_run
    quarantine = storage.read_bytes(f"{s3_bucket}/out/r.quarantine.jsonl").decode()
    assert f"{s3_bucket}/events/2026/11/02/13/stream-1-2026-11-02-13-00-00.gz" in quarantine
    assert "missing required field(s): EventId" in quarantine
    assert storage.list_files(f"{s3_bucket}/cache")

    # A rerun reads only the condensed cache on S3, and publishes the same bytes.
    assert run_report(f"{s3_bucket}/events", s3_out, f"{s3_bucket}/cache") == 0
    assert "0 parts condensed now" in capsys.readouterr().err
    assert storage.read_bytes(s3_out) == local_csv


def test_an_unreadable_file_on_s3_is_named_and_nothing_is_written(
    tmp_path, s3_bucket, s3_server, capsys
):
    local_events = str(tmp_path / "events")
    write_raw_events(local_events)
    upload_tree(local_events, f"{s3_bucket}/events", s3_server)
    damaged = f"{s3_bucket}/events/date=2026-11-03/part-0.json.gz"
    storage.write_bytes(damaged, b"\x1f\x8b\x08\x00 cut short")

    exit_code = run_report(f"{s3_bucket}/events", f"{s3_bucket}/out/r.csv", f"{s3_bucket}/cache")

    assert exit_code != 0
    error = capsys.readouterr().err
    assert damaged in error
    assert "Traceback" not in error
    assert not storage.exists(f"{s3_bucket}/out/r.csv")


def test_an_assume_role_connection_reads_and_publishes_with_the_roles_temporary_keys(
    s3_bucket, s3_server, timecard_home, tmp_path, monkeypatch, caplog, capfd
):
    """An Airflow AWS connection with `role_arn`, resolved by the Amazon provider against
    moto's STS: timecard works with the assumed role's keys, never the connection's own."""
    import json
    import logging

    from moto.sts.models import sts_backends

    from tests.publishing import SEOUL, publish_day, write_day_events
    from timecard import settings as settings_module
    from timecard.pipeline import output_urls
    from timecard.settings import get_settings

    local_events = tmp_path / "local-events"
    write_day_events(local_events, "2026-11-02")
    upload_tree(str(local_events), f"{s3_bucket}/events", s3_server)
    role_arn = "arn:aws:iam::123456789012:role/timecard-reports"
    connection = {
        "conn_type": "aws",
        "login": S3_KEY,
        "password": S3_SECRET,
        "extra": {
            "role_arn": role_arn,
            "region_name": "us-east-1",
            "endpoint_url": s3_server,
            "service_config": {"sts": {"endpoint_url": s3_server}},
        },
    }
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AIRFLOW_CONN_TIMECARD_AWS", json.dumps(connection))
    monkeypatch.setenv("TIMECARD_AWS_CONN_ID", "timecard_aws")
    for setting, folder in (("EVENTS", "events"), ("CACHE", "cache"), ("OUTPUT", "out")):
        monkeypatch.setenv(f"TIMECARD_{setting}_ROOT", f"{s3_bucket}/{folder}")
    settings_module._aws_session.cache_clear()
    caplog.set_level(logging.DEBUG)
    try:
        published = publish_day(SEOUL, "2026-11-02")
        s3 = get_settings().s3
        # The clients storage hands out (s3fs, Polars) carry the role's temporary keys.
        filesystem, _ = storage._fs(s3_bucket)
        polars_options = storage.polars_storage_options(s3_bucket)
    finally:
        settings_module._aws_session.cache_clear()

    issued = {
        role.access_key_id: role
        for role in sts_backends["123456789012"]["global"].assumed_roles
        if role.role_arn == role_arn
    }
    assert s3.access_key_id in issued and s3.access_key_id != S3_KEY
    assert s3.secret_access_key == issued[s3.access_key_id].secret_access_key
    assert s3.session_token and s3.endpoint_url == s3_server
    assert (filesystem.key, filesystem.token) == (s3.access_key_id, s3.session_token)
    assert polars_options["aws_access_key_id"] == s3.access_key_id
    assert polars_options["aws_session_token"] == s3.session_token
    assert published.rows == 4
    assert storage.read_parquet(output_urls(SEOUL, "2026-11-02")["parquet"]).height == 4
    out, err = capfd.readouterr()
    for text in (caplog.text, out, err):
        assert S3_SECRET not in text
    assert S3_KEY not in out and S3_KEY not in err
    # The connection's key id signs the one AssumeRole call: only botocore's own DEBUG wire
    # log shows it (the signature header), as the reliability suite documents.
    signed_by_key = [r for r in caplog.records if S3_KEY in r.getMessage()]
    assert all(r.name.startswith("botocore") and r.levelname == "DEBUG" for r in signed_by_key)
    assert all("/sts/aws4_request" in r.getMessage() for r in signed_by_key)


def test_days_of_several_files_on_s3_are_read_as_batches_like_local_ones(
    tmp_path, s3_bucket, s3_server
):
    """A day of Parquet objects (one scan through Polars' own S3 reader) and a lookback day of
    gzip JSON objects (read here, scanned in worker processes) give the local report."""
    local_events = str(tmp_path / "events")
    sessions = [
        [event("LOGIN", "2026-11-01T20:00:00Z", "a1", username="minjun")],
        [event("HEART_BEAT", "2026-11-01T20:05:00Z", "a1")],
    ]
    for number, records in enumerate(sessions):
        write_ndjson(local_events, "2026-11-01", records, name=f"s-{number}.gz", compress=True)
    window = [
        [event("LOGOUT", "2026-11-02T02:00:00Z", "a1", username="minjun")],
        [event("LOGIN", "2026-11-02T03:00:00Z", "a2", username="jdoe")],
        [event("STATE_CHANGE", "2026-11-02T03:30:00Z", "a2")],
    ]
    for number, records in enumerate(window):
        write_parquet(local_events, "2026-11-02", records, name=f"p-{number}.parquet")
    assert upload_tree(local_events, f"{s3_bucket}/batched", s3_server) == 5

    assert run_report(local_events, str(tmp_path / "r.csv"), str(tmp_path / "cache")) == 0
    s3_out = f"{s3_bucket}/out/batched.csv"
    assert run_report(f"{s3_bucket}/batched", s3_out, f"{s3_bucket}/batched-cache") == 0

    local_csv = storage.read_bytes(str(tmp_path / "r.csv"))
    assert storage.read_bytes(s3_out) == local_csv
    usernames = [line.split(",")[0] for line in local_csv.decode().splitlines()[1:]]
    assert usernames == ["jdoe", "minjun"]  # the report is ordered by username

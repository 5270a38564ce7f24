"""The `timecard` command line: its contract of exit codes, summary and one-paragraph refusals."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tests.builders import (
    WINDOW,
    arn,
    assert_one_paragraph_refusal,
    event,
    run,
    write_ndjson,
    write_parquet,
)
from timecard import storage

HEADER = (
    "Username,First name,Last name,Routing profile,Hierarchy level 1,Hierarchy level 2,"
    "Hierarchy level 3,Hierarchy level 4,Hierarchy level 5,Login time,Logout time,"
    "Session duration,Session duration (seconds),Last activity,Agent ARN"
)


@pytest.fixture
def events_root(tmp_path) -> str:
    """Two agents in two routing profiles, with one duplicate and one record to quarantine."""
    root = str(tmp_path / "events")
    login = event("LOGIN", "2026-11-02T08:00:00Z", "a1", username="ana")
    write_ndjson(
        root,
        "2026-11-02",
        [
            login,
            login,  # delivered twice
            event("HEART_BEAT", "2026-11-02T08:02:00Z", "a1"),
            event("LOGOUT", "2026-11-02T16:30:15Z", "a1", username="ana"),
            {**event("LOGOUT", "2026-11-02T17:00:00Z", "a2"), "AgentARN": None},
        ],
    )
    write_parquet(
        root,
        "2026-11-02",
        [
            event(
                "LOGIN",
                "2026-11-02T09:00:00Z",
                "a2",
                username="bo",
                routing_profile="Support",
                hierarchy=("EMEA",),
            )
        ],
    )
    return root


def report(events_root: str, out: str, *extra: str) -> int:
    return run("report", "--events", events_root, *WINDOW, "--out", out, *extra)


# -- report: success ----------------------------------------------------------------------------


def test_report_writes_the_csv_and_prints_a_summary(events_root, tmp_path, capsys):
    out = str(tmp_path / "out" / "r.csv")

    assert report(events_root, out, "--cache", str(tmp_path / "cache")) == 0

    stderr = capsys.readouterr().err
    assert re.search(
        r"events read 5, duplicates 1, quarantined 1, unknown event types 0, sessions 2, rows 2 "
        r"\(34 partitions, 40 parts condensed now\) in \d+\.\d\ds",
        stderr,
    ), stderr
    assert f"timecard: wrote {out}" in stderr
    assert "r.quarantine.jsonl" in stderr
    assert storage.read_bytes(out).decode().splitlines() == [
        HEADER,
        "ana,Min-jun,Kim,Sales Inbound,Americas,Sales,,,,2026-11-02T08:00:00+00:00,"
        f"2026-11-02T16:30:15+00:00,8:30:15,30615,,{arn('a1')}",
        "bo,Min-jun,Kim,Support,EMEA,,,,,2026-11-02T09:00:00+00:00,,,,"
        f"2026-11-02T09:00:00+00:00,{arn('a2')}",
    ]
    quarantine = storage.read_bytes(str(tmp_path / "out" / "r.quarantine.jsonl")).decode()
    assert "missing required field(s): AgentARN" in quarantine


def test_report_is_byte_identical_on_rerun_and_filters_apply(events_root, tmp_path, capsys):
    cache = str(tmp_path / "cache")
    first, second, filtered = (str(tmp_path / name) for name in ("1.csv", "2.csv", "f.csv"))

    assert report(events_root, first, "--cache", cache, "--tz", "Asia/Kolkata") == 0
    assert report(events_root, second, "--cache", cache, "--tz", "Asia/Kolkata") == 0
    assert "0 parts condensed now" in capsys.readouterr().err
    assert storage.read_bytes(first) == storage.read_bytes(second)
    assert "2026-11-02T13:30:00+05:30" in storage.read_bytes(first).decode()

    assert report(events_root, filtered, "--cache", cache, "--routing-profile", "Support") == 0
    rows = pl.read_csv(filtered)
    assert rows["Username"].to_list() == ["bo"]


def test_report_without_cache_option_uses_the_configured_cache_root(
    events_root, tmp_path, timecard_home
):
    assert report(events_root, str(tmp_path / "r.csv")) == 0

    assert storage.list_files(str(timecard_home / "cache"))


def test_a_window_without_any_raw_file_is_refused_not_published_empty(tmp_path, capsys):
    out = str(tmp_path / "r.csv")

    exit_code = run(
        *("report", "--events", str(tmp_path / "empty"), "--preset", "yesterday"),
        *("--tz", "America/New_York", "--out", out, "--cache", str(tmp_path / "cache")),
    )

    assert exit_code == 4
    message = capsys.readouterr().err
    assert "No raw event file exists for any day of the window" in message
    assert "The events root is empty or does not exist" in message
    assert not os.path.exists(out)


# -- report: refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (
            ["--start", "2026-11-01T00:00:00", "--end", "2026-11-08T00:00:01"],
            "a report covers at most 7 days",
        ),
        (["--start", "2026-11-03T00:00:00", "--end", "2026-11-02T00:00:00"], "at or before"),
        (["--start", "2026-11-02T00:00:00", "--end", "2026-11-02T00:00:00"], "at or before"),
        ([*WINDOW, "--tz", "Mars/Olympus_Mons"], "Unknown time zone 'Mars/Olympus_Mons'"),
        (["--start", "2026-11-02T00:00:00"], "--start needs --end"),
        (["--preset", "today", "--end", "2026-11-02T00:00:00"], "--end goes with --start"),
        (["--start", "2nd of November", "--end", "2026-11-03"], "Cannot read '2nd of November'"),
        ([*WINDOW, "--lookback-days", "-1"], "--lookback-days must be between 0 and 366"),
        ([*WINDOW, "--max-rows", "0"], "--max-rows must be at least 1"),
        ([*WINDOW, "--hierarchy", " / "], "must be 1 to 5 level names"),
        ([*WINDOW, "--hierarchy", "a/b/c/d/e/f"], "must be 1 to 5 level names"),
    ],
    ids=[
        "longer than 7 days",
        "end before start",
        "empty range",
        "unknown zone",
        "start without end",
        "preset with end",
        "unreadable start",
        "negative lookback",
        "zero max rows",
        "blank hierarchy",
        "six hierarchy levels",
    ],
)
def test_bad_parameters_are_refused_in_one_paragraph(events_root, tmp_path, capsys, when, expected):
    out = str(tmp_path / "r.csv")

    exit_code = run("report", "--events", events_root, *when, "--out", out)

    assert exit_code == 2
    assert expected in assert_one_paragraph_refusal(capsys.readouterr().err)
    assert not os.path.exists(out)


def test_a_corrupt_input_file_is_refused_naming_it(events_root, tmp_path, capsys):
    corrupt = os.path.join(events_root, "date=2026-11-02", "part-9.parquet")
    storage.write_bytes(corrupt, b"PAR1 and then nothing a parquet reader could use")
    out = str(tmp_path / "r.csv")

    exit_code = report(events_root, out, "--cache", str(tmp_path / "cache"))

    assert exit_code == 1
    message = assert_one_paragraph_refusal(capsys.readouterr().err)
    assert f"The raw event file {corrupt} is not a readable Parquet file" in message
    assert not os.path.exists(out)


def test_a_report_over_its_row_limit_writes_nothing_and_shows_the_counts(
    events_root, tmp_path, capsys
):
    out = str(tmp_path / "r.csv")

    exit_code = report(events_root, out, "--cache", str(tmp_path / "cache"), "--max-rows", "1")

    assert exit_code == 3
    message = assert_one_paragraph_refusal(capsys.readouterr().err)
    assert "The report has 2 rows, over its limit of 1, so nothing was written" in message
    assert "rows per routing profile: Sales Inbound: 1, Support: 1" in message
    assert "rows per hierarchy level 1: Americas: 1, EMEA: 1" in message
    assert not os.path.exists(out)
    assert not os.path.exists(str(tmp_path / "r.quarantine.jsonl"))


# -- generate-events ----------------------------------------------------------------------------


def test_generate_events_then_report_on_them(tmp_path, capsys):
    root = str(tmp_path / "generated")
    args = ["--agents", "4", "--start", "2026-11-01", "--days", "2", "--seed", "7"]

    assert (
        run("generate-events", "--out", root, *args, "--format", "ndjson", "--layout", "ymd") == 0
    )

    assert "timecard: generated" in capsys.readouterr().err
    generated = storage.list_files(root)
    assert generated
    assert all("/year=2026/month=11/day=0" in file.url for file in generated)
    out = str(tmp_path / "r.csv")
    assert report(root, out, "--cache", str(tmp_path / "cache"), "--lookback-days", "1") == 0
    assert storage.read_bytes(out).decode().startswith(HEADER + "\n")


def test_generate_events_refuses_an_empty_roster(tmp_path, capsys):
    exit_code = run(
        *("generate-events", "--out", str(tmp_path), "--agents", "0"),
        *("--start", "2026-11-01", "--days", "1"),
    )

    assert exit_code == 2
    assert "from 1 to" in assert_one_paragraph_refusal(capsys.readouterr().err)


# -- the installed console script ---------------------------------------------------------------


def test_the_console_script_runs_a_report(events_root, tmp_path):
    script = Path(sys.executable).with_name("timecard")
    out = str(tmp_path / "r.csv")

    completed = subprocess.run(
        [
            *(str(script), "report", "--events", events_root, *WINDOW, "--tz", "Asia/Seoul"),
            *("--out", out, "--cache", str(tmp_path / "cache"), "--lookback-days", "1"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert completed.returncode == 0, completed.stderr
    assert "rows 2" in completed.stderr
    assert storage.read_bytes(out).decode().startswith(HEADER + "\n")


def test_report_warns_but_does_not_wait_when_its_range_ended_less_than_settle_ago(
    tmp_path, capsys, monkeypatch
):
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC).replace(microsecond=0)
    root = str(tmp_path / "events")
    write_ndjson(root, now.date().isoformat(), [event("LOGIN", now.isoformat(), "a1")])
    monkeypatch.setenv("TIMECARD_SETTLE_MINUTES", "15")
    recent = ["--start", (now - timedelta(hours=1)).isoformat(), "--end", now.isoformat()]
    out = str(tmp_path / "recent.csv")

    assert run("report", "--events", root, *recent, "--out", out) == 0

    stderr = capsys.readouterr().err
    assert "timecard: warning: the range ends at" in stderr
    assert "less than 15 minutes (TIMECARD_SETTLE_MINUTES) before now" in stderr
    assert storage.exists(out)

    monkeypatch.setenv("TIMECARD_SETTLE_MINUTES", "0")
    assert run("report", "--events", root, *recent, "--out", out) == 0
    assert "warning: the range ends" not in capsys.readouterr().err


# -- honest input handling (issue 18) ----------------------------------------------------------


def test_a_window_whose_raw_files_are_all_empty_is_refused_like_a_missing_landing(tmp_path, capsys):
    root = str(tmp_path / "events")
    for day in ("2026-11-01", "2026-11-02", "2026-11-03"):
        write_ndjson(root, day, [], name="part-0.json")
    out = str(tmp_path / "r.csv")

    assert report(root, out, "--cache", str(tmp_path / "cache")) == 4

    message = assert_one_paragraph_refusal(capsys.readouterr().err)
    assert "is empty (zero bytes)" in message and "date=2026-11-02/part-0.json" in message
    assert not os.path.exists(out)


def test_a_dangling_link_in_a_partition_is_refused_by_name(events_root, tmp_path, capsys):
    link = os.path.join(events_root, "date=2026-11-02", "part-9.json")
    os.symlink(str(tmp_path / "gone.json"), link)
    out = str(tmp_path / "r.csv")

    assert report(events_root, out, "--cache", str(tmp_path / "cache")) == 1

    message = assert_one_paragraph_refusal(capsys.readouterr().err)
    assert f"The raw event path {link} is a symbolic link to nothing" in message
    assert not os.path.exists(out)


def test_a_rerun_without_quarantine_removes_the_outdated_quarantine_file(
    events_root, tmp_path, capsys
):
    out = str(tmp_path / "r.csv")
    cache = str(tmp_path / "cache")
    assert report(events_root, out, "--cache", cache) == 0
    quarantine = str(tmp_path / "r.quarantine.jsonl")
    assert os.path.exists(quarantine)

    # The input is fixed: the record without an AgentARN is gone.
    bad = os.path.join(events_root, "date=2026-11-02", "part-0.json")
    lines = storage.read_bytes(bad).decode().splitlines()
    storage.write_bytes(bad, "\n".join(line for line in lines if "null" not in line).encode())
    assert report(events_root, out, "--cache", cache) == 0

    assert "quarantined 0" in capsys.readouterr().err
    assert not os.path.exists(quarantine)


def test_filter_values_are_trimmed_and_one_that_matches_nothing_is_warned_before_wrote(
    events_root, tmp_path, capsys
):
    out = str(tmp_path / "r.csv")
    cache = str(tmp_path / "cache")

    code = report(events_root, out, "--cache", cache, "--agent", " ana ", "--agent", "anna")

    assert code == 0
    assert pl.read_csv(out)["Username"].to_list() == ["ana"]
    lines = capsys.readouterr().err.splitlines()
    [warning] = [line for line in lines if "matches no session" in line]
    assert warning.startswith("timecard: warning: --agent 'anna' matches no session in the range")
    assert lines.index(warning) < lines.index(f"timecard: wrote {out}")

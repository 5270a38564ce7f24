"""Publishing: the typed sessions Parquet next to the CSV, covered by the manifest."""

import dataclasses
import hashlib
import io
import json
from datetime import UTC, datetime

import polars as pl
import pytest

from schemas.columns import TYPED_COLUMNS
from tests.publishing import SEOUL, local_window, publish_day, write_day_events
from timecard import storage
from timecard.cli import main
from timecard.pipeline import output_urls
from timecard.ui.table import load_report

DAY = "2026-11-02"


@pytest.fixture
def events(timecard_home):
    root = timecard_home / "events"
    write_day_events(root, DAY)
    return root


def test_the_typed_file_holds_the_csv_rows_in_order_with_types(events, tmp_path, capsys):
    published = publish_day(SEOUL, DAY)
    urls = output_urls(SEOUL, DAY)
    assert published["parquet"] == urls["parquet"]
    assert urls["parquet"].endswith(f"/team/daily/date={DAY}/daily-seoul-{DAY}.parquet")
    csv = storage.read_bytes(urls["csv"])
    typed = storage.read_parquet(urls["parquet"])

    # The CSV is the same bytes as the command line gives for the window.
    cli_csv = tmp_path / "cli.csv"
    start, end = (t.replace(tzinfo=None).isoformat() for t in local_window(SEOUL, DAY))
    assert (
        main(
            ["report", "--events", str(events), "--start", start, "--end", end]
            + ["--tz", "Asia/Seoul", "--lookback-days", "1", "--out", str(cli_csv)]
        )
        == 0
    )
    capsys.readouterr()
    assert csv == cli_csv.read_bytes()

    assert typed.schema == pl.Schema(TYPED_COLUMNS)
    shown = pl.read_csv(io.BytesIO(csv), infer_schema=False)
    assert typed.height == shown.height == 4
    # Same rows, same order; text values without the CSV's formula guard.
    assert typed["username"].to_list() == ["=calc", "a", "b", "c"]
    assert shown["Username"].to_list() == ["'=calc", "a", "b", "c"]
    assert typed["agent_arn"].to_list() == shown["Agent ARN"].to_list()
    as_text = lambda column: column.dt.strftime("%Y-%m-%dT%H:%M:%S+09:00")  # noqa: E731
    for name, header in (
        ("login_time", "Login time"),
        ("logout_time", "Logout time"),
        ("last_activity", "Last activity"),
    ):
        assert as_text(typed[f"{name}_local"]).to_list() == shown[header].to_list()
        assert as_text(typed[f"{name}_utc"].dt.convert_time_zone("Asia/Seoul")).to_list() == (
            shown[header].to_list()
        )
    assert typed["session_duration_seconds"].to_list() == [None, 28200, None, 7200]
    assert typed["session_duration_seconds"].to_list() == (
        shown["Session duration (seconds)"].cast(pl.Int64).to_list()
    )
    assert typed["login_time_utc"][1] == datetime(2026, 11, 2, 0, 10, tzinfo=UTC)
    assert set(typed["timezone"]) == {"Asia/Seoul"} and set(typed["report_slug"]) == {SEOUL.slug}
    assert set(typed["window_start_utc"]) == {datetime(2026, 11, 1, 15, tzinfo=UTC)}
    assert typed["hierarchy_level_1"].to_list() == ["Americas", "Americas", "Americas", None]

    # One rule for "possibly abandoned": the UI's flags over the CSV equal the typed column.
    ui_flags = load_report(csv, *local_window(SEOUL, DAY))["_abandoned"].to_list()
    assert typed["possibly_abandoned"].to_list() == ui_flags == [False, False, True, False]

    manifest = json.loads(storage.read_bytes(urls["manifest"]))
    parquet = storage.read_bytes(urls["parquet"])
    assert manifest["parquet"] == {
        "sha256": hashlib.sha256(parquet).hexdigest(),
        "bytes": len(parquet),
        "rows": 4,
    }
    assert manifest["csv"]["sha256"] == hashlib.sha256(csv).hexdigest()


def test_the_manifest_is_written_after_both_data_files(events, monkeypatch):
    written = []
    write = storage.write_bytes
    monkeypatch.setattr(
        storage, "write_bytes", lambda url, data: (written.append(url), write(url, data))
    )
    publish_day(SEOUL, DAY)
    urls = output_urls(SEOUL, DAY)
    published = [url for url in written if "/connect/" in url]
    assert published == [urls["csv"], urls["parquet"], urls["manifest"]]


def test_the_abandoned_threshold_reaches_the_typed_file(events, monkeypatch):
    monkeypatch.setenv("TIMECARD_ABANDONED_AFTER_MINUTES", str(13 * 60))
    publish_day(SEOUL, DAY)
    typed = storage.read_parquet(output_urls(SEOUL, DAY)["parquet"])
    assert not typed["possibly_abandoned"].any()


def test_formats_turn_either_file_off_and_leave_no_outdated_one(events):
    urls = output_urls(SEOUL, DAY)
    publish_day(dataclasses.replace(SEOUL, formats=("csv",)), DAY)
    assert storage.exists(urls["csv"]) and not storage.exists(urls["parquet"])
    manifest = json.loads(storage.read_bytes(urls["manifest"]))
    assert "parquet" not in manifest and manifest["csv"]["rows"] == 4

    published = publish_day(dataclasses.replace(SEOUL, formats=("parquet",)), DAY)
    assert set(published) == {"parquet", "manifest", "rows", "revision"}
    assert published["revision"] == 2  # other files than before: a new revision
    assert storage.exists(urls["parquet"]) and not storage.exists(urls["csv"])
    manifest = json.loads(storage.read_bytes(urls["manifest"]))
    assert "csv" not in manifest and manifest["parquet"]["rows"] == 4

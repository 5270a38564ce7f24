"""Whole report runs on hand-built raw files: windows, lookback, partitions, limits, reruns."""

import gzip
import json
import os

import polars as pl
import pytest

from schemas.columns import REPORT_HEADER
from tests.builders import event, partition_dir, write_ndjson, write_parquet
from timecard import engine
from timecard.errors import NoRawEventsError, RowLimitExceeded
from timecard.timerange import custom_range
from transforms.filters import Filters

DAY_WINDOW = ("2026-11-02T00:00:00", "2026-11-03T00:00:00")


def run(root, cache, start, end, tz, **options) -> engine.ReportResult:
    request = engine.ReportRequest(str(root), custom_range(start, end, tz), **options)
    return engine.build_report(request, str(cache))


def rows(result) -> list[tuple]:
    return result.report.select("Username", "Login time", "Logout time", "Last activity").rows()


def test_new_york_fall_back_day_is_25_hours_and_partitions_neighbours_are_read(tmp_path):
    root = tmp_path / "events"
    write_ndjson(
        root,
        "2026-11-01",
        [
            event("LOGIN", "2026-11-01T04:30:00Z", "a"),  # 00:30 EDT, inside
            event("HEART_BEAT", "2026-11-01T06:10:00Z", "a"),
        ],
    )
    # Arrived after midnight UTC, so it sits in the next day's partition.
    write_ndjson(
        root,
        "2026-11-02",
        [
            event("LOGOUT", "2026-11-02T04:59:59Z", "a"),  # 23:59:59 EST, still 2026-11-01 locally
            event("LOGIN", "2026-11-02T05:00:00Z", "b"),  # 00:00 EST on 2026-11-02: outside
        ],
        name="late.json",
    )
    result = run(
        root, tmp_path / "cache", "2026-11-01T00:00:00", "2026-11-02T00:00:00", "America/New_York"
    )
    assert rows(result) == [("a", "2026-11-01T00:30:00-04:00", "2026-11-01T23:59:59-05:00", None)]
    assert result.report["Session duration"].to_list() == ["24:29:59"]


def test_lookback_decides_whether_a_login_is_known(tmp_path):
    root = tmp_path / "events"
    write_parquet(root, "2026-10-02", [event("LOGIN", "2026-10-02T10:00:00Z", "a")])
    write_parquet(root, "2026-11-02", [event("LOGOUT", "2026-11-02T10:00:00Z", "a")])
    window = ("2026-11-02T00:00:00", "2026-11-03T00:00:00", "UTC")
    known = run(root, tmp_path / "c1", *window, lookback_days=31)
    assert rows(known) == [("a", "2026-10-02T10:00:00+00:00", "2026-11-02T10:00:00+00:00", None)]
    unknown = run(root, tmp_path / "c2", *window, lookback_days=30)
    assert rows(unknown) == [("a", None, "2026-11-02T10:00:00+00:00", None)]


def test_last_activity_from_any_event_type_and_half_hour_zone(tmp_path):
    root = tmp_path / "events"
    write_ndjson(
        root,
        "2026-11-02",
        [
            event("LOGIN", "2026-11-02T03:00:00.250Z", "a"),
            event("STATE_CHANGE", "2026-11-02T04:00:00.900Z", "a"),
            event("HEART_BEAT", "2026-11-02T04:02:00.500Z", "a"),
            event("HEART_BEAT", "2026-11-02T04:02:00.100Z", "b"),
        ],
    )
    result = run(
        root, tmp_path / "cache", "2026-11-02T00:00:00", "2026-11-03T00:00:00", "Asia/Kolkata"
    )
    assert rows(result) == [("a", "2026-11-02T08:30:00+05:30", None, "2026-11-02T09:32:00+05:30")]


def test_duplicates_across_partitions_are_kept_once_and_counted(tmp_path):
    root = tmp_path / "events"
    login = event("LOGIN", "2026-11-02T23:59:00Z", "a", event_id="dup")
    write_ndjson(root, "2026-11-02", [login, event("LOGOUT", "2026-11-02T23:59:30Z", "a")])
    write_ndjson(root, "2026-11-03", [login])  # delivered again after midnight
    result = run(root, tmp_path / "cache", "2026-11-02T00:00:00", "2026-11-03T00:00:00", "UTC")
    assert result.report.height == 1
    assert result.summary.duplicates == 1
    assert result.summary.events_read == 3


def test_filters_apply_to_the_rows(tmp_path):
    root = tmp_path / "events"
    write_ndjson(
        root,
        "2026-11-02",
        [
            event("LOGIN", "2026-11-02T01:00:00Z", "a", routing_profile="Sales Inbound"),
            event("LOGIN", "2026-11-02T01:00:00Z", "b", routing_profile="Billing", hierarchy=None),
        ],
    )
    result = run(
        root,
        tmp_path / "cache",
        "2026-11-02T00:00:00",
        "2026-11-03T00:00:00",
        "UTC",
        filters=Filters(routing_profiles=("Billing",)),
    )
    assert result.report["Username"].to_list() == ["b"]
    assert result.report["Hierarchy level 1"].to_list() == [None]
    assert result.summary.warnings() == []


def test_filter_values_are_trimmed_and_unmatched_ones_are_run_summary_warnings(tmp_path):
    root = tmp_path / "events"
    write_ndjson(root, "2026-11-02", [event("LOGIN", "2026-11-02T01:00:00Z", "a")])
    filters = Filters((" a ", "zed"), (" Sales Inbound\t",), (" Americas / Sales ", "Asia"))
    assert filters.as_dict() == {
        "agents": ["a", "zed"],
        "routing_profiles": ["Sales Inbound"],
        "hierarchies": ["Americas/Sales", "Asia"],
    }

    result = run(root, tmp_path / "cache", *DAY_WINDOW, "UTC", filters=filters)

    assert result.report["Username"].to_list() == ["a"]
    assert result.summary.unmatched_filters == {
        "agents": {"zed": ["a"]},
        "hierarchies": {"Asia": ["Americas", "Americas/Sales"]},
    }
    assert result.summary.warnings() == [
        "--agent 'zed' matches no session in the range; closest known values: a.",
        "--hierarchy 'Asia' matches no session in the range; closest known values: Americas, "
        "Americas/Sales.",
    ]
    assert result.summary.as_dict()["unmatched_filters"] == result.summary.unmatched_filters


def test_a_window_whose_raw_files_hold_no_session_is_a_header_only_report(tmp_path):
    write_ndjson(tmp_path / "quiet", "2026-11-02", [event("HEART_BEAT", "2026-11-02T08:00:00Z")])
    result = run(
        tmp_path / "quiet",
        tmp_path / "cache",
        "2026-11-02T00:00:00",
        "2026-11-03T00:00:00",
        "UTC",
    )
    assert result.csv_bytes().decode() == ",".join(REPORT_HEADER) + "\n"
    assert result.summary.events_read == 1


def test_row_limit_refuses_with_counts(tmp_path):
    root = tmp_path / "events"
    write_ndjson(
        root,
        "2026-11-02",
        [
            event("LOGIN", "2026-11-02T01:00:00Z", f"a{n}", routing_profile="Sales")
            for n in range(3)
        ],
    )
    with pytest.raises(RowLimitExceeded) as raised:
        run(
            root,
            tmp_path / "cache",
            "2026-11-02T00:00:00",
            "2026-11-03T00:00:00",
            "UTC",
            max_rows=2,
        )
    message = str(raised.value)
    assert "3 rows, over its limit of 2" in message
    assert "rows per routing profile: Sales: 3" in message
    assert "rows per hierarchy level 1: Americas: 3" in message


def test_warm_rerun_is_byte_identical_and_condenses_nothing(tmp_path):
    root = tmp_path / "events"
    for day in ("2026-11-01", "2026-11-02", "2026-11-03"):
        write_ndjson(
            root,
            day,
            [
                event("LOGIN", f"{day}T01:00:00Z", "a"),
                event("HEART_BEAT", f"{day}T02:00:00Z", "a"),
                event("LOGOUT", f"{day}T09:00:00Z", "a"),
                event("LOGIN", f"{day}T22:00:00Z", "b"),
            ],
        )
    window = ("2026-11-02T00:00:00", "2026-11-03T00:00:00", "Asia/Seoul")
    cold = run(root, tmp_path / "cache", *window)
    warm = run(root, tmp_path / "cache", *window)
    assert cold.summary.parts_built_now > cold.summary.partitions_read
    assert warm.summary.parts_built_now == 0
    assert cold.csv_bytes() == warm.csv_bytes()
    assert cold.report["Username"].to_list() == ["a", "b"]


def test_quarantined_records_travel_with_the_report(tmp_path):
    root = tmp_path / "events"
    write_ndjson(
        root,
        "2026-11-02",
        [
            event("LOGIN", "2026-11-02T01:00:00Z", "a"),
            {"EventId": "broken", "EventType": "LOGOUT", "EventTimestamp": "yesterday-ish"},
        ],
    )
    result = run(root, tmp_path / "cache", "2026-11-02T00:00:00", "2026-11-03T00:00:00", "UTC")
    assert result.report.height == 1
    assert result.summary.quarantined == 1
    record = result.quarantine.row(0, named=True)
    assert record["source_row"] == 2 and record["event_id"] == "broken"
    assert "missing required field(s): AgentARN" in record["reason"]
    assert isinstance(result.quarantine, pl.DataFrame)


# -- no silent empties ----------------------------------------------------------------------------


def _acme_landing(root) -> None:
    """Events under a custom prefix, as a Glue table partitioned by client and arrival date."""
    folder = root / "clientname=acme" / "rowdate=2026-11-02"
    folder.mkdir(parents=True)
    records = [event("LOGIN", "2026-11-02T08:00:00Z"), event("LOGOUT", "2026-11-02T09:00:00Z")]
    (folder / "part.json").write_text("".join(json.dumps(r) + "\n" for r in records))


def test_a_root_in_an_unknown_layout_is_refused_naming_the_layout_that_would_match(tmp_path):
    _acme_landing(tmp_path / "agent_events")

    with pytest.raises(NoRawEventsError) as refused:
        run(tmp_path / "agent_events", tmp_path / "cache", *DAY_WINDOW, "UTC")

    message = str(refused.value)
    assert "No raw event file exists for any day of the window or its neighbours" in message
    assert f"{tmp_path / 'agent_events'}/date=2026-11-01" in message  # where it looked
    assert "At the top of the events root there is: clientname=acme." in message
    assert "--layout 'clientname=acme/rowdate={date}'" in message
    assert "\n" not in message

    result = run(
        tmp_path / "agent_events",
        tmp_path / "cache",
        *DAY_WINDOW,
        "UTC",
        layout="clientname=acme/rowdate={date}",
    )
    assert result.report.height == 1


def test_a_window_day_without_files_is_warned_about_not_refused(tmp_path):
    root = tmp_path / "events"
    write_ndjson(root, "2026-11-01", [event("LOGIN", "2026-11-01T08:00:00Z")])
    write_ndjson(root, "2026-11-03", [event("LOGOUT", "2026-11-03T08:00:00Z")])

    result = run(root, tmp_path / "cache", "2026-11-01T00:00:00", "2026-11-04T00:00:00", "UTC")

    assert result.report.height == 1
    assert result.summary.empty_days == ["2026-11-02"]
    assert result.summary.warnings() == [
        "no raw event file for UTC day 2026-11-02 of the window: a quiet day, or its events "
        "have not landed yet"
    ]


def test_records_are_counted_per_file_format_and_shape(tmp_path):
    root = tmp_path / "events"
    write_parquet(root, "2026-11-02", [event("LOGIN", "2026-11-02T08:00:00Z", "a")])
    folder = partition_dir(str(root), "2026-11-02")
    concatenated = b"".join(
        json.dumps(event(kind, "2026-11-02T09:00:00Z", "b"), separators=(",", ":")).encode()
        for kind in ("LOGIN", "HEART_BEAT", "LOGOUT")
    )
    with open(os.path.join(folder, "stream-1-2026-11-02-09-00-00-x"), "wb") as handle:
        handle.write(gzip.compress(concatenated))

    summary = run(root, tmp_path / "cache", *DAY_WINDOW, "UTC").summary

    assert summary.formats == {"json-gzip": 3, "parquet": 1}
    assert summary.shapes == {"concatenated": 3, "nested": 1}
    assert "records by format json-gzip 3, parquet 1, by shape concatenated 3" in (
        summary.one_line()
    )


def test_a_login_whose_snapshot_cannot_be_read_is_quarantined_not_a_blank_row(tmp_path):
    root = tmp_path / "events"
    broken = event("LOGIN", "2026-11-02T01:00:00Z", "b", event_id="broken")
    broken["CurrentAgentSnapshot"] = "Username=b"  # not JSON
    write_ndjson(root, "2026-11-02", [event("LOGIN", "2026-11-02T01:00:00Z", "a"), broken])

    result = run(root, tmp_path / "cache", *DAY_WINDOW, "UTC")

    assert result.report["Username"].to_list() == ["a"]
    assert result.summary.quarantined == 1
    [reason] = result.quarantine["reason"].to_list()
    assert reason.startswith("CurrentAgentSnapshot is text that is not JSON, not an object")

"""Partition layouts and clocks: templates, the days they list, a layout guessed from a root."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from tests.builders import event
from timecard import engine, ingest, storage
from timecard.errors import UsageError
from timecard.landing import Landing, parse_layout, suggest_layout
from timecard.timerange import custom_range

DAY = date(2026, 11, 2)


def write_records(folder, records: list[dict]) -> None:
    (folder / "f.json").write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.mark.parametrize(
    ("given", "day_folder", "hour_folder"),
    [
        ("date", "date=2026-11-02", "date=2026-11-02"),
        ("ymd", "year=2026/month=11/day=02", "year=2026/month=11/day=02"),
        ("firehose", "2026/11/02", "2026/11/02/13"),
        ("rowdate={date}", "rowdate=2026-11-02", "rowdate=2026-11-02"),
        ("clientname=acme/rowdate={date}/", "clientname=acme/rowdate=2026-11-02", None),
        ("dt={date}/hour={HH}", "dt=2026-11-02", "dt=2026-11-02/hour=13"),
        ("fhbase/year={yyyy}/month={MM}/day={dd}", "fhbase/year=2026/month=11/day=02", None),
    ],
)
def test_a_layout_names_the_folder_of_a_day_and_of_a_record(given, day_folder, hour_folder):
    layout = parse_layout(given)

    assert layout.day_folder(DAY) == day_folder
    if hour_folder:
        assert layout.folder_for(datetime(2026, 11, 2, 13, 5)) == hour_folder


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("", "is empty"),
        ("rowdate", "does not name the day"),
        ("year={yyyy}/month={MM}", "does not name the day"),
        ("../events/{date}", "'..'"),
        ("{HH}/{date}", "puts {HH} in or before"),
        ("dt={date}-{HH}", "puts {HH} in or before"),
        ("dt={day}", "unknown or unbalanced placeholders (day)"),
        ("dt={date", "unknown or unbalanced"),
    ],
)
def test_a_bad_layout_is_refused_in_one_paragraph(given, why):
    with pytest.raises(UsageError) as raised:
        parse_layout(given)

    assert why in str(raised.value)
    assert "rowdate={date}" in str(raised.value)  # with examples of good ones


@pytest.mark.parametrize(
    ("tree", "suggested"),
    [
        ({"": ["rowdate=2026-11-02", "rowdate=2026-11-03"]}, "rowdate={date}"),
        (
            {"": ["clientname=acme"], "clientname=acme": ["rowdate=2026-11-02"]},
            "clientname=acme/rowdate={date}",
        ),
        (
            {"": ["2026"], "2026": ["11"], "2026/11": ["02"], "2026/11/02": ["00", "13"]},
            "{yyyy}/{MM}/{dd}/{HH}",
        ),
        (
            {
                "": ["fhbase"],
                "fhbase": ["year=2026"],
                "fhbase/year=2026": ["month=11"],
                "fhbase/year=2026/month=11": ["day=02"],
            },
            "fhbase/year={yyyy}/month={MM}/day={dd}",
        ),
        (
            {"": ["raw-agentevents"], "raw-agentevents": ["dt=2026-11-02"]},
            "raw-agentevents/dt={date}",
        ),
        ({"": ["misc"], "misc": []}, None),
        ({"": []}, None),
    ],
)
def test_a_layout_is_suggested_from_the_folders_below_a_root(tree, suggested):
    assert suggest_layout(lambda relative: tree.get(relative, [])) == suggested


def test_a_custom_layout_lists_only_the_days_a_report_needs(tmp_path, monkeypatch):
    listed: list[str] = []
    real = storage.list_files
    monkeypatch.setattr(storage, "list_files", lambda prefix: listed.append(prefix) or real(prefix))
    root = tmp_path / "agent_events"
    for day in ("2026-11-01", "2026-11-02", "2026-11-03", "2026-11-20"):
        folder = root / "clientname=acme" / f"rowdate={day}"
        folder.mkdir(parents=True)
        write_records(folder, [event("HEART_BEAT", f"{day}T08:00:00Z")])

    landing = Landing(str(root), parse_layout("clientname=acme/rowdate={date}"))
    files = ingest.partition_files(landing, DAY)

    assert [f.url.split("/")[-2] for f in files] == ["rowdate=2026-11-02"]
    assert listed == [str(root / "clientname=acme" / "rowdate=2026-11-02")]


@pytest.mark.parametrize(("partition_time", "neighbours"), [("arrival", 1), ("event", 0)])
def test_only_arrival_time_partitions_need_a_neighbouring_day(partition_time, neighbours):
    window = custom_range("2026-11-02T00:00:00", "2026-11-03T00:00:00", "UTC")
    request = engine.ReportRequest(
        "/events", window, lookback_days=0, layout="dt={date}", partition_time=partition_time
    )

    session_days, activity_days = engine.needed_days(request)

    first, last = date(2026, 11, 2 - neighbours), date(2026, 11, 2 + neighbours)
    assert session_days == activity_days
    assert (activity_days[0], activity_days[-1]) == (first, last)


def test_an_event_outside_its_event_time_partition_is_quarantined(tmp_path):
    root = tmp_path / "events"
    folder = root / "dt=2026-11-02"
    folder.mkdir(parents=True)
    records = [
        event("LOGIN", "2026-11-02T23:59:59Z", event_id="inside"),
        event("LOGOUT", "2026-11-03T00:00:01Z", event_id="next-day"),
    ]
    write_records(folder, records)
    landing = Landing(str(root), parse_layout("dt={date}"), "event")

    [file] = ingest.partition_files(landing, DAY)
    checked = ingest.read_file(file, DAY, neighbour_days=landing.neighbour_days).checked.collect()

    assert checked["reason"].to_list() == [
        None,
        "EventTimestamp is not on its event-time partition date 2026-11-02, so no report would "
        "read it: 2026-11-03T00:00:01Z",
    ]


def test_a_bad_partition_time_is_refused():
    with pytest.raises(UsageError, match="'arrival'.*'event'"):
        Landing("/events", None, "ingest")

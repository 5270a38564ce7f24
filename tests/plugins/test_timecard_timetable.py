"""LocalMidnightTimetable with real Airflow classes: DST windows, tiling, restrictions, manual runs,
serialization, and a DAG parsed by DagBag and round-tripped through DagSerialization."""

import json
import textwrap
from datetime import date, datetime, timedelta

import pendulum
import pytest
from airflow import plugins_manager
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.serialized_objects import DagSerialization
from airflow.timetables.base import DataInterval, TimeRestriction
from timecard_timetable import LocalMidnightTimetable, previous_window, window_for_run_day

from timecard.errors import UsageError

MONDAY, TUESDAY, WEDNESDAY, THURSDAY = 0, 1, 2, 3
HOUR = timedelta(hours=1)


def utc(*args) -> pendulum.DateTime:
    return pendulum.datetime(*args, tz="UTC")


def local_midnight(day: date, tz: str) -> pendulum.DateTime:
    return pendulum.datetime(day.year, day.month, day.day, tz=tz)


def catchup_from(earliest: datetime, latest: datetime | None = None) -> TimeRestriction:
    return TimeRestriction(earliest=earliest, latest=latest, catchup=True)


def scheduled_runs(timetable, restriction, count):
    """The first `count` runs the scheduler would create, each after the previous one."""
    runs, last = [], None
    for _ in range(count):
        info = timetable.next_dagrun_info(
            last_automated_data_interval=last, restriction=restriction
        )
        if info is None:
            break
        runs.append(info)
        last = info.data_interval
    return runs


# --- windows across DST ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "covered_day", "hours"),
    [
        ("America/New_York", date(2026, 3, 7), 24),
        ("America/New_York", date(2026, 3, 8), 23),  # spring forward
        ("America/New_York", date(2026, 11, 1), 25),  # fall back
        ("Europe/London", date(2026, 3, 29), 23),
        ("Europe/London", date(2026, 10, 25), 25),
        ("Asia/Seoul", date(2026, 3, 8), 24),  # no DST
        ("Asia/Seoul", date(2026, 11, 1), 24),
        ("Australia/Lord_Howe", date(2026, 4, 5), 24.5),  # 30-minute DST ends
        ("Australia/Lord_Howe", date(2026, 10, 4), 23.5),  # 30-minute DST starts
    ],
)
def test_one_day_window_is_the_local_calendar_day(tz, covered_day, hours):
    run_day = covered_day + timedelta(days=1)
    window = window_for_run_day(run_day, tz)

    assert window == (local_midnight(covered_day, tz), local_midnight(run_day, tz))
    assert window.end - window.start == timedelta(hours=hours)
    assert window.start.tzinfo == pendulum.UTC
    assert window.end.tzinfo == pendulum.UTC


def test_new_york_windows_in_utc():
    assert window_for_run_day(date(2026, 3, 9), "America/New_York") == (
        utc(2026, 3, 8, 5),
        utc(2026, 3, 9, 4),
    )
    assert window_for_run_day(date(2026, 11, 2), "America/New_York") == (
        utc(2026, 11, 1, 4),
        utc(2026, 11, 2, 5),
    )


@pytest.mark.parametrize(
    ("tz", "dst_hours"),
    [
        ("America/New_York", {23, 25}),
        ("Europe/London", {23, 25}),
        ("Asia/Seoul", set()),
        ("Australia/Lord_Howe", {23.5, 24.5}),
    ],
)
def test_a_year_of_daily_windows_tiles_time(tz, dst_hours):
    timetable = LocalMidnightTimetable(tz)
    first_day = date(2026, 1, 1)
    runs = scheduled_runs(timetable, catchup_from(local_midnight(first_day, tz)), 365)

    assert len(runs) == 365
    for previous, current in zip(runs, runs[1:], strict=False):
        assert current.data_interval.start == previous.data_interval.end  # no gap, no overlap
    for offset, run in enumerate(runs):
        covered_day = first_day + timedelta(days=offset)
        assert run.data_interval == (
            local_midnight(covered_day, tz),
            local_midnight(covered_day + timedelta(days=1), tz),
        )
        assert run.run_after == run.data_interval.end
        assert run.logical_date == run.data_interval.start
    lengths = {
        (run.data_interval.end - run.data_interval.start).total_seconds() / 3600 for run in runs
    }
    assert lengths == {24} | dst_hours


# --- midnights that do not exist, or exist twice ---------------------------------------------


def test_skipped_midnight_starts_the_day_when_the_clocks_jump():
    # Cuba springs forward at 00:00 -> 01:00: 2026-03-08 starts at 01:00 CDT (05:00 UTC).
    saturday = window_for_run_day(date(2026, 3, 8), "America/Havana")
    sunday = window_for_run_day(date(2026, 3, 9), "America/Havana")

    assert saturday == (utc(2026, 3, 7, 5), utc(2026, 3, 8, 5))
    assert sunday == (utc(2026, 3, 8, 5), utc(2026, 3, 9, 4))
    assert sunday.start.in_timezone("America/Havana").hour == 1
    assert sunday.end - sunday.start == 23 * HOUR


def test_repeated_midnight_starts_the_day_at_its_first_occurrence():
    # Cuba falls back at 01:00 -> 00:00, so 2026-11-01 00:00 happens at 04:00 and 05:00 UTC.
    sunday = window_for_run_day(date(2026, 11, 2), "America/Havana")

    assert sunday == (utc(2026, 11, 1, 4), utc(2026, 11, 2, 5))
    assert sunday.end - sunday.start == 25 * HOUR


def test_a_day_skipped_entirely_gets_an_empty_window_and_tiling_holds():
    # Samoa skipped 2011-12-30 when it crossed the date line.
    runs = scheduled_runs(
        LocalMidnightTimetable("Pacific/Apia"), catchup_from(utc(2011, 12, 27, 10)), 6
    )

    for previous, current in zip(runs, runs[1:], strict=False):
        assert current.data_interval.start == previous.data_interval.end
    covered = [run.data_interval.start.in_timezone("Pacific/Apia").date() for run in runs]
    assert date(2011, 12, 30) not in covered
    assert window_for_run_day(date(2011, 12, 31), "Pacific/Apia") == (
        utc(2011, 12, 30, 10),
        utc(2011, 12, 30, 10),
    )


# --- weekly schedules ------------------------------------------------------------------------


def test_wednesday_runs_cover_tuesday_only():
    timetable = LocalMidnightTimetable("Asia/Seoul", weekdays=(WEDNESDAY,))
    runs = scheduled_runs(
        timetable, catchup_from(local_midnight(date(2026, 3, 1), "Asia/Seoul")), 4
    )

    run_days = [run.run_after.in_timezone("Asia/Seoul") for run in runs]
    assert [day.date() for day in run_days] == [
        date(2026, 3, 4),
        date(2026, 3, 11),
        date(2026, 3, 18),
        date(2026, 3, 25),
    ]
    assert all(day.weekday() == WEDNESDAY and day.hour == 0 for day in run_days)
    for run in runs:
        start = run.data_interval.start.in_timezone("Asia/Seoul")
        assert start.weekday() == TUESDAY
        assert run.data_interval.end - run.data_interval.start == 24 * HOUR


def test_monday_run_with_seven_day_window_covers_the_previous_week_across_dst():
    tz = "Europe/London"
    timetable = LocalMidnightTimetable(tz, weekdays=(MONDAY,), window_days=7)
    runs = scheduled_runs(timetable, catchup_from(local_midnight(date(2026, 3, 16), tz)), 3)

    assert [run.data_interval for run in runs] == [
        (local_midnight(date(2026, 3, 16), tz), local_midnight(date(2026, 3, 23), tz)),
        (local_midnight(date(2026, 3, 23), tz), local_midnight(date(2026, 3, 30), tz)),
        (local_midnight(date(2026, 3, 30), tz), local_midnight(date(2026, 4, 6), tz)),
    ]
    # The week containing the spring-forward Sunday is one hour short.
    assert runs[1].data_interval.end - runs[1].data_interval.start == timedelta(days=7) - HOUR


def test_several_weekdays():
    timetable = LocalMidnightTimetable("UTC", weekdays=[THURSDAY, MONDAY, MONDAY])
    runs = scheduled_runs(timetable, catchup_from(utc(2026, 3, 1)), 4)

    assert [run.run_after for run in runs] == [
        utc(2026, 3, 2),
        utc(2026, 3, 5),
        utc(2026, 3, 9),
        utc(2026, 3, 12),
    ]
    assert runs[1].data_interval == (utc(2026, 3, 4), utc(2026, 3, 5))


# --- restrictions ----------------------------------------------------------------------------


def test_first_run_is_the_first_window_starting_at_or_after_start_date():
    timetable = LocalMidnightTimetable("America/New_York")
    on_midnight = local_midnight(date(2026, 3, 1), "America/New_York")

    first = timetable.next_dagrun_info(
        last_automated_data_interval=None, restriction=catchup_from(on_midnight)
    )
    assert first.logical_date == on_midnight
    assert first.run_after == local_midnight(date(2026, 3, 2), "America/New_York")

    mid_day = timetable.next_dagrun_info(
        last_automated_data_interval=None, restriction=catchup_from(on_midnight + HOUR)
    )
    assert mid_day.logical_date == local_midnight(date(2026, 3, 2), "America/New_York")


def test_latest_is_inclusive_on_the_window_start():
    timetable = LocalMidnightTimetable("Asia/Seoul")
    first_day = local_midnight(date(2026, 3, 1), "Asia/Seoul")
    last_day = local_midnight(date(2026, 3, 5), "Asia/Seoul")

    runs = scheduled_runs(timetable, catchup_from(first_day, latest=last_day), 100)

    assert [run.logical_date for run in runs] == [
        local_midnight(date(2026, 3, day), "Asia/Seoul") for day in range(1, 6)
    ]


def test_no_start_date_and_no_previous_run_schedules_nothing_with_catchup():
    info = LocalMidnightTimetable("UTC").next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(earliest=None, latest=None, catchup=True),
    )
    assert info is None


def _latest_window_bracketing(call, tz, weekdays=None, window_days=1):
    """Run `call` and return (result, windows that were latest just before and just after it),
    so an assertion holds even if a local midnight passes during the call."""
    before = previous_window(pendulum.now("UTC"), tz, weekdays, window_days)
    result = call()
    after = previous_window(pendulum.now("UTC"), tz, weekdays, window_days)
    return result, {before, after}


def test_without_catchup_missed_runs_are_skipped_to_the_latest():
    timetable = LocalMidnightTimetable("Asia/Seoul", weekdays=(MONDAY,), window_days=7)
    long_ago = window_for_run_day(date(2025, 1, 6), "Asia/Seoul", 7)

    info, latest_windows = _latest_window_bracketing(
        lambda: timetable.next_dagrun_info(
            last_automated_data_interval=long_ago,
            restriction=TimeRestriction(earliest=utc(2024, 1, 1), latest=None, catchup=False),
        ),
        "Asia/Seoul",
        weekdays=(MONDAY,),
        window_days=7,
    )

    assert info.data_interval in latest_windows
    assert info.run_after.in_timezone("Asia/Seoul").weekday() == MONDAY


def test_without_catchup_and_start_date_the_latest_run_comes_first():
    timetable = LocalMidnightTimetable("America/New_York")
    info, latest_windows = _latest_window_bracketing(
        lambda: timetable.next_dagrun_info(
            last_automated_data_interval=None,
            restriction=TimeRestriction(earliest=None, latest=None, catchup=False),
        ),
        "America/New_York",
    )
    assert info.data_interval in latest_windows


def test_without_catchup_a_future_start_date_still_wins():
    timetable = LocalMidnightTimetable("UTC")
    future = pendulum.now("UTC").add(days=30).start_of("day")

    info = timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(earliest=future, latest=None, catchup=False),
    )
    assert info.data_interval == (future, future.add(days=1))


def test_changing_window_days_never_reuses_a_logical_date():
    # The last run was daily (covering 2026-03-09); the report now covers 7 days per run.
    last = window_for_run_day(date(2026, 3, 10), "UTC")
    info = LocalMidnightTimetable("UTC", window_days=7).next_dagrun_info(
        last_automated_data_interval=last, restriction=catchup_from(utc(2026, 1, 1))
    )
    assert info.logical_date > last.start
    assert info.data_interval == (utc(2026, 3, 10), utc(2026, 3, 17))


# --- manual runs -----------------------------------------------------------------------------


def test_manual_run_gets_the_latest_complete_window():
    timetable = LocalMidnightTimetable("America/New_York", weekdays=(WEDNESDAY,))
    ny = "America/New_York"

    # Thursday afternoon: the Wednesday run's window, i.e. Tuesday.
    thursday = pendulum.datetime(2026, 3, 12, 15, tz=ny)
    assert timetable.infer_manual_data_interval(run_after=thursday) == (
        local_midnight(date(2026, 3, 10), ny),
        local_midnight(date(2026, 3, 11), ny),
    )
    # Exactly at a scheduled midnight: the window that just ended.
    wednesday = local_midnight(date(2026, 3, 11), ny)
    assert timetable.infer_manual_data_interval(run_after=wednesday).end == wednesday
    # Just before it: the previous week's window.
    assert timetable.infer_manual_data_interval(
        run_after=wednesday - timedelta(seconds=1)
    ).end == local_midnight(date(2026, 3, 4), ny)


def test_manual_run_on_a_dst_day():
    ny = "America/New_York"
    window = LocalMidnightTimetable(ny).infer_manual_data_interval(
        run_after=pendulum.datetime(2026, 3, 9, 1, 30, tz=ny)
    )
    assert window.end - window.start == 23 * HOUR


def test_previous_window_serves_runs_without_a_logical_date():
    # Manual runs in Airflow 3 may have logical_date=None; their run_after is always set.
    run_after = utc(2026, 11, 2, 12)
    timetable = LocalMidnightTimetable("Asia/Seoul", weekdays=(MONDAY,), window_days=7)

    window = previous_window(run_after, "Asia/Seoul", (MONDAY,), 7)

    assert window == timetable.infer_manual_data_interval(run_after=run_after)
    assert window == (
        local_midnight(date(2026, 10, 26), "Asia/Seoul"),
        local_midnight(date(2026, 11, 2), "Asia/Seoul"),
    )


def test_previous_window_refuses_a_naive_time():
    with pytest.raises(UsageError, match="with a time zone"):
        previous_window(datetime(2026, 11, 2, 12), "UTC")


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timezone": "Asia/Seul"}, "Unknown time zone 'Asia/Seul'"),
        ({"timezone": "+09:00"}, "Unknown time zone"),
        ({"timezone": ["UTC"]}, "must be an IANA name"),
        ({"timezone": "UTC", "weekdays": (7,)}, "0 \\(Monday\\) to 6 \\(Sunday\\)"),
        ({"timezone": "UTC", "weekdays": (-1,)}, "0 \\(Monday\\) to 6 \\(Sunday\\)"),
        ({"timezone": "UTC", "weekdays": ()}, "non-empty"),
        ({"timezone": "UTC", "weekdays": ("mon",)}, "0 \\(Monday\\)"),
        ({"timezone": "UTC", "weekdays": 2}, "non-empty list"),
        ({"timezone": "UTC", "window_days": 0}, "from 1 to 7"),
        ({"timezone": "UTC", "window_days": 8}, "from 1 to 7"),
        ({"timezone": "UTC", "window_days": True}, "from 1 to 7"),
    ],
)
def test_bad_arguments_are_refused_clearly(kwargs, message):
    with pytest.raises(UsageError, match=message) as refused:
        LocalMidnightTimetable(**kwargs)
    assert "\n" not in str(refused.value)


def test_helpers_validate_too():
    with pytest.raises(UsageError, match="from 1 to 7"):
        window_for_run_day(date(2026, 3, 9), "UTC", 30)


# --- description and serialization ----------------------------------------------------------


@pytest.mark.parametrize(
    ("timetable", "summary", "description"),
    [
        (
            LocalMidnightTimetable("Asia/Seoul"),
            "daily at 00:00 Asia/Seoul",
            "At 00:00 Asia/Seoul every day; each run covers the previous local calendar day.",
        ),
        (
            LocalMidnightTimetable("UTC", weekdays=range(7)),
            "daily at 00:00 UTC",
            "At 00:00 UTC every day; each run covers the previous local calendar day.",
        ),
        (
            LocalMidnightTimetable("Asia/Seoul", weekdays=(MONDAY,), window_days=7),
            "weekly on Mon at 00:00 Asia/Seoul (7-day window)",
            "At 00:00 Asia/Seoul on Monday; each run covers the previous 7 local calendar days.",
        ),
        (
            LocalMidnightTimetable("Europe/London", weekdays=(4, 0, 2)),
            "Mon, Wed, Fri at 00:00 Europe/London",
            "At 00:00 Europe/London on Monday, Wednesday, Friday; "
            "each run covers the previous local calendar day.",
        ),
    ],
)
def test_summary_and_description(timetable, summary, description):
    assert timetable.summary == summary
    assert timetable.description == description


def test_serialization_round_trip_through_json():
    timetable = LocalMidnightTimetable("Australia/Lord_Howe", weekdays=(3, 0), window_days=3)
    data = json.loads(json.dumps(timetable.serialize()))

    assert data == {"timezone": "Australia/Lord_Howe", "weekdays": [0, 3], "window_days": 3}
    restored = LocalMidnightTimetable.deserialize(data)
    assert restored.serialize() == data
    restriction = catchup_from(utc(2026, 3, 30))
    assert scheduled_runs(restored, restriction, 10) == scheduled_runs(timetable, restriction, 10)


# --- a real DAG, the way Airflow loads it ----------------------------------------------------


def test_the_plugin_registers_the_timetable():
    registered = plugins_manager.get_timetables_plugins()
    assert registered["timecard_timetable.LocalMidnightTimetable"] is LocalMidnightTimetable
    assert LocalMidnightTimetable("UTC").type_name == "timecard_timetable.LocalMidnightTimetable"


DAG_FILE = """
import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG
from timecard_timetable import LocalMidnightTimetable

with DAG(
    dag_id="timecard_weekly_seoul",
    schedule=LocalMidnightTimetable("Asia/Seoul", weekdays=(0,), window_days=7),
    start_date=pendulum.datetime(2026, 3, 2, tz="Asia/Seoul"),
    catchup=True,
):
    EmptyOperator(task_id="publish")
"""


def test_dag_parses_and_round_trips_through_dag_serialization(tmp_path):
    (tmp_path / "weekly_seoul.py").write_text(textwrap.dedent(DAG_FILE))
    bag = DagBag(dag_folder=tmp_path, safe_mode=False)
    assert bag.import_errors == {}
    dag = bag.dags["timecard_weekly_seoul"]

    # What the DAG processor stores and the scheduler / backfill read back.
    serialized = json.loads(json.dumps(DagSerialization.to_dict(dag)))
    assert serialized["dag"]["timetable"] == {
        "__type": "timecard_timetable.LocalMidnightTimetable",
        "__var": {"timezone": "Asia/Seoul", "weekdays": [0], "window_days": 7},
    }
    scheduler_dag = DagSerialization.from_dict(serialized)
    timetable = scheduler_dag.timetable
    assert isinstance(timetable, LocalMidnightTimetable)
    assert timetable.summary == "weekly on Mon at 00:00 Asia/Seoul (7-day window)"

    first = scheduler_dag.next_dagrun_info(last_automated_run_info=None)
    assert first.data_interval == (
        local_midnight(date(2026, 3, 2), "Asia/Seoul"),
        local_midnight(date(2026, 3, 9), "Asia/Seoul"),
    )

    # `airflow backfill create` enumerates runs with iter_dagrun_infos_between (by logical date).
    backfill = list(
        scheduler_dag.iter_dagrun_infos_between(
            pendulum.datetime(2026, 3, 1, tz="Asia/Seoul"),
            pendulum.datetime(2026, 3, 23, tz="Asia/Seoul"),
        )
    )
    assert [info.logical_date.in_timezone("Asia/Seoul").date() for info in backfill] == [
        date(2026, 3, 2),
        date(2026, 3, 9),
        date(2026, 3, 16),
        date(2026, 3, 23),
    ]
    assert all(isinstance(info.data_interval, DataInterval) for info in backfill)
    assert [info.run_after for info in backfill[:-1]] == [
        info.data_interval.start for info in backfill[1:]
    ]


def test_bad_timetable_arguments_show_up_as_an_import_error(tmp_path):
    dag_file = tmp_path / "broken.py"
    dag_file.write_text(
        textwrap.dedent(DAG_FILE).replace('Asia/Seoul", weekdays', 'Mars/Base", weekdays')
    )

    bag = DagBag(dag_folder=tmp_path, safe_mode=False)

    assert bag.dags == {}
    [error] = bag.import_errors.values()
    assert "Unknown time zone 'Mars/Base'" in error

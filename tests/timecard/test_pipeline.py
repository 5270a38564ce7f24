"""The steps of a run, each called directly (plan, condense, build, validate, publish), and
publishing: the typed sessions Parquet next to the CSV, covered by the manifest."""

import dataclasses
import hashlib
import io
import json
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from schemas.columns import TYPED_COLUMNS
from tests.publishing import SEOUL, local_window, publish_day, write_day_events
from timecard import storage
from timecard.cli import main
from timecard.errors import NoRawEventsError, RowLimitExceeded, UsageError
from timecard.pipeline import output_urls
from timecard.publishing import Published
from timecard.spec import (
    CondensedDay,
    CondensedWindow,
    PlannedDay,
    StagedReport,
    ValidatedReport,
    WindowPlan,
)
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
    assert published.parquet == urls["parquet"]
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
    parquet_object = manifest["parquet"].pop("object")
    assert manifest["parquet"] == {
        "sha256": hashlib.sha256(parquet).hexdigest(),
        "bytes": len(parquet),
        "rows": 4,
    }
    assert manifest["csv"]["sha256"] == hashlib.sha256(csv).hexdigest()
    # The public copy holds the committed revision object's bytes.
    folder = urls["manifest"].rsplit("/", 1)[0]
    assert storage.read_bytes(storage.join(folder, parquet_object)) == parquet


def test_the_manifest_is_written_after_both_data_files_and_before_their_public_copies(
    events, monkeypatch
):
    """The revision's own objects first, then the manifest that names them (the commit point),
    then the public copies: a reader of the public names only ever gets a committed revision."""
    written = []
    write = storage.write_bytes
    monkeypatch.setattr(
        storage, "write_bytes", lambda url, data: (written.append(url), write(url, data))
    )
    publish_day(SEOUL, DAY)
    urls = output_urls(SEOUL, DAY)
    manifest = json.loads(storage.read_bytes(urls["manifest"]))
    folder = urls["manifest"].rsplit("/", 1)[0]
    objects = [storage.join(folder, manifest[name]["object"]) for name in ("csv", "parquet")]
    published = [url for url in written if "/connect/" in url]
    assert published == [*objects, urls["manifest"], urls["csv"], urls["parquet"]]


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
    assert (published.csv, published.parquet) == (None, urls["parquet"])
    assert published.revision == 2  # other files than before: a new revision
    assert storage.exists(urls["parquet"]) and not storage.exists(urls["csv"])
    manifest = json.loads(storage.read_bytes(urls["manifest"]))
    assert "csv" not in manifest and manifest["parquet"]["rows"] == 4


def test_a_filter_value_matching_nothing_is_a_manifest_warning(events):
    spec = dataclasses.replace(SEOUL, agents=(" a ", "zed"))
    publish_day(spec, DAY)
    manifest = json.loads(storage.read_bytes(output_urls(spec, DAY)["manifest"]))
    assert manifest["filters"]["agents"] == ["a", "zed"]
    [warning] = [w for w in manifest["warnings"] if "matches no session" in w]
    prefix = "--agent 'zed' matches no session in the range; closest known values: "
    assert warning.startswith(prefix)
    assert "a" in warning[len(prefix) :].rstrip(".").split(", ")
    assert manifest["rows"] == 1


# -- each step directly, on a small landing of hand-built events ----------------------------------


def seoul_plan():
    from timecard import pipeline

    return pipeline.plan(SEOUL, *local_window(SEOUL, DAY))


def test_plan_gives_the_exact_window_and_the_raw_days_it_needs(timecard_home):
    from timecard import pipeline

    plan = seoul_plan()
    assert (plan.start, plan.end, plan.timezone, plan.local_date) == (
        datetime(2026, 11, 1, 15, tzinfo=UTC),
        datetime(2026, 11, 2, 15, tzinfo=UTC),
        "Asia/Seoul",
        DAY,
    )
    # The lookback day (1) and the window's UTC days, with a neighbouring day on each side;
    # only the days around the window need their activity.
    assert [(day.day.isoformat(), day.with_activity) for day in plan.days] == [
        ("2026-10-30", False),
        ("2026-10-31", True),
        ("2026-11-01", True),
        ("2026-11-02", True),
        ("2026-11-03", True),
    ]
    assert WindowPlan.from_json(plan.to_json()) == plan
    with pytest.raises(UsageError, match="at most 7 days"):
        pipeline.plan(SEOUL, plan.start, plan.start + timedelta(days=8))
    with pytest.raises(UsageError, match="--max-rows must be at least 1"):
        pipeline.plan(dataclasses.replace(SEOUL, max_rows=0), plan.start, plan.end)


def test_condense_builds_a_day_once_then_only_lists_it(events):
    from timecard import pipeline

    day = next(day for day in seoul_plan().days if day.day.isoformat() == DAY)
    first = pipeline.condense(SEOUL, day)
    assert first.day.isoformat() == DAY
    assert first.built_now == ("sessions", "activity", "attributes")
    assert first.counts["events"] == 9
    again = pipeline.condense(SEOUL, day)
    assert again.built_now == () and again.fingerprint == first.fingerprint
    assert CondensedDay.from_json(first.to_json()) == first
    # A lookback day needs its LOGIN/LOGOUT records only; a day without files is condensed empty.
    quiet = pipeline.condense(SEOUL, PlannedDay(date(2026, 10, 30), False))
    assert quiet.built_now == ("sessions",) and quiet.counts["events"] == 0


def test_condense_window_condenses_every_needed_day_or_refuses_a_window_without_raw_files(events):
    from timecard import pipeline

    plan = seoul_plan()
    cold = pipeline.condense_window(SEOUL, plan)
    assert (cold.days, cold.activity_days) == (5, 4) and cold.parts_built_now > 0
    # The window's UTC days are 11-01 (from 15:00) and 11-02: 11-01 has no raw file.
    assert cold.empty_days == ("2026-11-01",)
    warm = pipeline.condense_window(SEOUL, plan)
    assert warm.parts_built_now == 0
    assert CondensedWindow.from_json(cold.to_json()) == cold
    june = pipeline.plan(SEOUL, *local_window(SEOUL, "2026-06-01"))
    with pytest.raises(NoRawEventsError, match="No raw event file exists"):
        pipeline.condense_window(SEOUL, june)


def test_build_stages_the_report_for_validation_and_validate_enforces_the_row_limit(events):
    from timecard import pipeline, publishing

    plan = seoul_plan()
    staged = pipeline.build(SEOUL, plan, "run-1")
    assert staged.staging == publishing.staging_folder(SEOUL.slug, DAY, "run-1")
    assert "/_staging/daily-seoul/2026-11-02/" in staged.staging
    names = sorted(file.url.rsplit("/", 1)[1] for file in storage.list_files(staged.staging))
    assert names == ["quarantine.parquet", "report.parquet", "sessions.parquet"]
    assert (staged.summary.rows, staged.summary.sessions) == (4, 4)
    assert set(staged.summary.fingerprints) == {day.day.isoformat() for day in plan.days}
    assert staged.summary.empty_days == ["2026-11-01"]
    assert datetime.fromisoformat(staged.listed_at) <= datetime.now(UTC)
    assert StagedReport.from_json(staged.to_json()) == staged

    validated = pipeline.validate(SEOUL, staged)
    assert validated == ValidatedReport(4)
    assert ValidatedReport.from_json(validated.to_json()) == validated
    with pytest.raises(RowLimitExceeded, match="over its limit of 3"):
        pipeline.validate(dataclasses.replace(SEOUL, max_rows=3), staged)

    pipeline.discard_staged(staged)
    assert storage.list_files(staged.staging) == []


def test_publish_gives_the_public_urls_and_a_retry_after_its_commit_gives_them_again(events):
    from timecard import pipeline

    plan = seoul_plan()
    staged = pipeline.build(SEOUL, plan, "run-1")
    pipeline.validate(SEOUL, staged)
    published = pipeline.publish(SEOUL, plan, staged, "timecard_daily-seoul", "run-1", "elapsed")
    urls = output_urls(SEOUL, DAY)
    assert published == Published(
        report_slug="daily-seoul",
        local_date=DAY,
        manifest=urls["manifest"],
        rows=4,
        revision=1,
        csv=urls["csv"],
        parquet=urls["parquet"],
    )
    assert Published.from_json(published.to_json()) == published
    assert published.as_extra() == {
        "manifest": urls["manifest"],
        "rows": 4,
        "revision": 1,
        "csv": urls["csv"],
        "parquet": urls["parquet"],
        "report_slug": "daily-seoul",
        "local_date": DAY,
    }
    assert storage.list_files(staged.staging) == []  # the staged report is gone
    manifest = json.loads(storage.read_bytes(urls["manifest"]))
    assert manifest["window"]["start_local"] == "2026-11-02T00:00:00+09:00"
    assert (manifest["completeness"], manifest["run_id"]) == ("elapsed", "run-1")
    assert manifest["counts"]["sessions"] == 4
    assert manifest["event_cache_fingerprints"] == staged.summary.fingerprints
    assert manifest["inputs_listed_at"] == staged.listed_at
    assert manifest["warnings"] == staged.summary.warnings()

    # Airflow retries a publish whose task died after the commit: it is published already.
    assert pipeline.publish(SEOUL, plan, staged, "timecard_daily-seoul", "run-1") == published
    # Another run with nothing staged is not this publish: its staged files are missing.
    with pytest.raises(FileNotFoundError):
        pipeline.publish(SEOUL, plan, staged, "timecard_daily-seoul", "run-2")


# -- condense in shards: the mapped steps of a scheduled run, called directly -------------------
# plan_shards → condense_shard (each shard) → combine_day (each day of several shards)


def parts_folder_files(folder: str) -> dict[str, bytes]:
    """Every file of a condensed day's folder (parts, quarantines, markers), by name."""
    return {
        file.url.rsplit("/", 1)[1]: storage.read_bytes(file.url)
        for file in storage.list_files(folder)
    }


def test_plan_shards_gives_one_shard_per_day_to_condense_and_none_once_condensed(events):
    from timecard import pipeline
    from timecard.condensed import PARTS
    from timecard.spec import ShardTask

    plan = seoul_plan()
    tasks = pipeline.plan_shards(SEOUL, plan)
    # Small days at the default budget: one shard each, named as the task instance is.
    assert [task.name for task in tasks] == [f"{day.day.isoformat()} 1/1" for day in plan.days]
    assert [task.parts for task in tasks] == [
        PARTS if day.with_activity else ("sessions",) for day in plan.days
    ]
    assert all(task.day_shards == () for task in tasks)
    assert [ShardTask.from_json(task.to_json()) for task in tasks] == list(tasks)
    # A day of one shard is combined by its own task: nothing is left for a combine task.
    assert [pipeline.condense_shard(SEOUL, task) for task in tasks] == [None] * len(tasks)
    assert pipeline.plan_shards(SEOUL, plan) == ()
    # The parts are those `condense` finds current (it builds nothing more).
    assert all(pipeline.condense(SEOUL, day).built_now == () for day in plan.days)

    # A late file changes only its day's fingerprint: only that day is planned again.
    write_day_events(events, DAY, late_agent="late")
    [again] = pipeline.plan_shards(SEOUL, plan)
    assert again.name == f"{DAY} 1/1" and again.parts == PARTS


@pytest.fixture
def large_day(timecard_home):
    """One generated raw day of about 10 MB of NDJSON in four files (of 1.9-3.6 MB)."""
    from timecard.generate import generate_events

    root = timecard_home / "events"
    generate_events(
        str(root), agents=10, start=date.fromisoformat(DAY), days=1, seed=4, shape="ndjson"
    )
    return root


def test_a_day_over_the_budget_is_condensed_in_shards_into_the_parts_of_one_task(
    large_day, tmp_path, monkeypatch
):
    from timecard import pipeline
    from timecard.condensed import PARTS, DayCache
    from timecard.settings import get_settings
    from timecard.spec import DayToCombine

    # A budget of 1 MB: a shard reads at most 4 MiB (the floor), so the day is several shards.
    monkeypatch.setenv("TIMECARD_MEMORY_BUDGET_MB", "1")
    plan = seoul_plan()
    tasks = pipeline.plan_shards(SEOUL, plan)
    day_tasks = [task for task in tasks if task.shard.day.isoformat() == DAY]
    count = len(day_tasks)
    assert count > 1
    assert [task.name for task in day_tasks] == [f"{DAY} {n}/{count}" for n in range(1, count + 1)]
    # The first shard carries the day's whole plan, for the combine; the others do not.
    assert day_tasks[0].day_shards == tuple(task.shard for task in day_tasks)
    assert all(task.day_shards == () for task in day_tasks[1:])

    # In any order, as workers take them: only the first shard of the day returns the day to
    # combine (Airflow maps the combine step over what is not None).
    returned = [pipeline.condense_shard(SEOUL, task) for task in reversed(tasks)]
    [to_combine] = [day for day in returned if day is not None]
    assert DayToCombine.from_json(to_combine.to_json()) == to_combine
    assert (to_combine.day.isoformat(), to_combine.parts) == (DAY, PARTS)
    # Nothing is condensed until the combine: the day is still to be planned.
    assert [task.name for task in pipeline.plan_shards(SEOUL, plan)] == [
        task.name for task in day_tasks
    ]

    combined = pipeline.combine_day(SEOUL, to_combine)
    assert combined.built_now == PARTS
    assert pipeline.plan_shards(SEOUL, plan) == ()

    # Byte for byte the parts one task writes, reading the whole day at the default budget.
    monkeypatch.delenv("TIMECARD_MEMORY_BUDGET_MB")
    one_task = DayCache(SEOUL.landing(), str(tmp_path / "one-task-cache"))
    parts = one_task.parts(date.fromisoformat(DAY), PARTS)
    assert combined.fingerprint == parts["sessions"].fingerprint
    sharded = DayCache(SEOUL.landing(), get_settings().cache_root)
    folder = sharded.folder(date.fromisoformat(DAY), combined.fingerprint)
    assert parts_folder_files(folder) == parts_folder_files(parts["sessions"].folder)
    # The generated day holds a repeated EventId: found across the shards as in one read.
    assert combined.counts["duplicates"] == parts["activity"].counts["duplicates"] > 0

    # A second combine (another run combined the day first) takes the parts as they are, and
    # the shards of a day another run condensed read nothing: its raw files are gone, no error.
    assert pipeline.combine_day(SEOUL, to_combine).built_now == ()
    for raw in (large_day / f"date={DAY}").iterdir():
        raw.unlink()
    assert [pipeline.condense_shard(SEOUL, task) for task in day_tasks] == [
        to_combine,
        *[None] * (count - 1),
    ]
    assert pipeline.combine_day(SEOUL, to_combine).built_now == ()

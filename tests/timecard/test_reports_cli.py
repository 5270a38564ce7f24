import argparse
import shutil

import pytest
import yaml

from timecard.definitions import DefinitionError, load_definition
from timecard.errors import UsageError
from timecard.reports_cli import add_reports_parser
from timecard.settings import REPO_ROOT


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "reports"


@pytest.fixture
def run(folder, capsys):
    """Run `timecard reports ARGV --dir FOLDER` and return (exit code, stdout)."""

    def run(*argv):
        parser = argparse.ArgumentParser(prog="timecard")
        add_reports_parser(parser.add_subparsers(dest="command", required=True))
        args = parser.parse_args(["reports", *argv, "--dir", str(folder)])
        code = args.func(args)
        return code, capsys.readouterr().out

    return run


def saved(folder, slug):
    return load_definition(folder / f"{slug}.yaml")


def yaml_of(folder, slug):
    return yaml.safe_load((folder / f"{slug}.yaml").read_text(encoding="utf-8"))


# --- create ---------------------------------------------------------------------------------


def test_create_writes_a_validated_definition(run, folder):
    code, out = run(
        "create",
        "sales",
        "--name",
        "Sales logins",
        "--tz",
        "America/New_York",
        "--agent",
        "jdoe",
        "--agent",
        "asmith",
        "--routing-profile",
        "Sales Inbound",
        "--hierarchy",
        "Americas/Sales",
        "--preset",
        "yesterday",
        "--prefix",
        "team/sales",
        "--published",
        "--max-rows",
        "500",
        "--lookback-days",
        "14",
    )
    assert code == 0
    assert f"Created saved report 'sales': {folder / 'sales.yaml'}" in out
    assert yaml_of(folder, "sales") == {
        "name": "Sales logins",
        "timezone": "America/New_York",
        "filters": {
            "agents": ["jdoe", "asmith"],
            "routing_profiles": ["Sales Inbound"],
            "hierarchies": ["Americas/Sales"],
        },
        "time_range": {"preset": "yesterday"},
        "schedule": "none",
        "prefix": "team/sales",
        "published": True,
        "max_rows": 500,
        "lookback_days": 14,
    }


def test_create_with_only_a_name_uses_the_defaults(run, folder):
    run("create", "plain", "--name", "Plain")
    definition = saved(folder, "plain")
    assert (definition.timezone, definition.published, definition.schedule) == (
        "UTC",
        False,
        "none",
    )


def test_create_with_a_custom_default_range(run, folder):
    run("create", "custom", "--name", "C", "--start", "2026-11-02T00:00", "--end", "2026-11-03")
    assert yaml_of(folder, "custom")["time_range"] == {
        "start": "2026-11-02T00:00",
        "end": "2026-11-03",
    }


def test_create_refuses_an_existing_slug(run, folder):
    run("create", "dup", "--name", "First")
    with pytest.raises(UsageError, match="already exists"):
        run("create", "dup", "--name", "Second")
    assert saved(folder, "dup").name == "First"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["bad-tz", "--name", "X", "--tz", "Mars/Base"], "Unknown time zone 'Mars/Base'"),
        (["bad-rows", "--name", "X", "--max-rows", "0"], "max_rows: must be a whole number"),
        (["bad-prefix", "--name", "X", "--prefix", "../../etc"], "contains '..'"),
        (["bad-name", "--name", " "], "name: must be non-empty text"),
        (["half", "--name", "X", "--start", "2026-11-02"], "needs both --start and --end"),
        (
            ["both", "--name", "X", "--preset", "today", "--start", "a", "--end", "b"],
            "either --preset or --start",
        ),
        (["long", "--name", "X", "--start", "2026-11-01", "--end", "2026-11-10"], "at most 7"),
        (["../escape", "--name", "X"], "The slug '../escape' is not allowed"),
        (["Upper", "--name", "X"], "The slug 'Upper' is not allowed"),
    ],
)
def test_create_refuses_invalid_values_and_writes_nothing(run, folder, argv, expected):
    with pytest.raises(UsageError, match=expected):
        run("create", *argv)
    assert not folder.exists() or list(folder.iterdir()) == []


def test_create_requires_a_name(run):
    with pytest.raises(SystemExit):
        run("create", "nameless")


# --- list and show --------------------------------------------------------------------------


def test_list_shows_a_table_and_flags_broken_files(run, folder):
    run("create", "b-team", "--name", "B team", "--routing-profile", "Billing")
    run("create", "a-daily", "--name", "A daily")
    run("schedule", "a-daily", "--weekly", "mon,wed", "--tz", "Asia/Seoul", "--window-days", "7")
    (folder / "c-broken.yaml").write_text("name: C\nscheduel: daily\n", encoding="utf-8")

    code, out = run("list")

    assert code == 1
    lines = out.splitlines()
    assert lines[0].split() == ["SLUG", "NAME", "SCHEDULE", "TIMEZONE", "PUBLISHED", "FILTERS"]
    assert lines[1].startswith("a-daily")
    assert "weekly mon,wed (7-day window)" in lines[1]
    assert "Asia/Seoul" in lines[1] and "yes" in lines[1] and lines[1].endswith("none")
    assert lines[2].startswith("b-team")
    assert lines[2].endswith("routing profile: Billing")
    assert "Broken definitions (1), not loaded and not scheduled:" in out
    assert "c-broken.yaml is invalid: Unknown setting 'scheduel'" in out


def test_validate_names_a_prefix_into_the_adhoc_namespace_and_exits_1(run, folder):
    run("create", "fine", "--name", "Fine")
    (folder / "sneaky.yaml").write_text("name: S\nschedule: daily\nprefix: adhoc/x\n", "utf-8")

    code, out = run("validate")

    assert code == 1
    [paragraph] = [line for line in out.splitlines() if line.startswith("- ")]
    assert f"{folder / 'sneaky.yaml'} is invalid: prefix: 'adhoc/x'" in paragraph
    assert "Reports/adhoc/" in paragraph
    assert out.splitlines()[-1] == f"1 valid, 1 broken saved report(s) in {folder}."
    assert run("validate", "fine") == (0, f"1 valid, 0 broken saved report(s) in {folder}.\n")
    assert run("validate", "sneaky")[0] == 1
    with pytest.raises(DefinitionError, match="Reports/adhoc/"):
        run("create", "other", "--name", "O", "--prefix", "ADHOC")


def test_list_without_broken_files_succeeds(run):
    run("create", "only", "--name", "Only")
    code, out = run("list")
    assert code == 0
    assert "Broken" not in out


def test_list_of_an_empty_folder(run, folder):
    code, out = run("list")
    assert (code, out.strip()) == (0, f"No saved reports in {folder}.")


def test_show_prints_the_file_as_written(run, folder):
    folder.mkdir()
    shutil.copy(REPO_ROOT / "reports" / "weekly-seoul.yaml", folder)
    code, out = run("show", "weekly-seoul")
    assert code == 0
    assert out == (REPO_ROOT / "reports" / "weekly-seoul.yaml").read_text(encoding="utf-8")


def test_show_a_broken_file_prints_it_then_its_problems(run, folder, capsys):
    folder.mkdir()
    (folder / "broken.yaml").write_text("name: X\nmax_rows: lots\n", encoding="utf-8")
    with pytest.raises(DefinitionError, match="max_rows: must be a whole number"):
        run("show", "broken")
    assert "max_rows: lots" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["show", "edit", "delete", "unschedule", "save-as"])
def test_commands_on_a_missing_report_say_so(run, command):
    extra = ["copy"] if command == "save-as" else []
    with pytest.raises(UsageError, match="There is no saved report 'ghost'"):
        run(command, "ghost", *extra)


@pytest.mark.parametrize("command", ["show", "edit", "delete", "unschedule"])
@pytest.mark.parametrize("slug", ["../outside", "/etc/passwd", "a/../../b", "..", "%2e%2e"])
def test_hostile_slugs_never_reach_the_file_system(run, folder, tmp_path, command, slug):
    folder.mkdir()
    victim = tmp_path / "outside.yaml"
    victim.write_text("name: Victim\n", encoding="utf-8")
    with pytest.raises(UsageError, match="is not allowed"):
        run(command, slug)
    assert victim.read_text(encoding="utf-8") == "name: Victim\n"


# --- edit -----------------------------------------------------------------------------------


@pytest.fixture
def sales(run, folder):
    run(
        "create",
        "sales",
        "--name",
        "Sales",
        "--agent",
        "jdoe",
        "--routing-profile",
        "Sales Inbound",
        "--preset",
        "today",
        "--prefix",
        "sales",
    )
    return saved(folder, "sales")


HAND_WRITTEN = """\
# Reviewed in git: ask #wfm before changing the zone.
name: Weekly Sales   # shown in the UI
timezone: Asia/Seoul
filters:
  # the two inbound queues only
  routing_profiles: ["Sales Inbound", 'Sales VIP']
  agents: [jdoe]
schedule: {weekly: [Mon]}   # Monday 00:00 Seoul
window_days: 7
prefix: weekly/seoul
"""


def test_edit_keeps_comments_key_order_and_untouched_text(run, folder):
    folder.mkdir()
    (folder / "weekly.yaml").write_text(HAND_WRITTEN, encoding="utf-8")
    code, _ = run("edit", "weekly", "--name", "Weekly Sales (Seoul)", "--agent", "kim")
    assert code == 0
    assert (folder / "weekly.yaml").read_text(encoding="utf-8") == HAND_WRITTEN.replace(
        "name: Weekly Sales   #", "name: Weekly Sales (Seoul) #"
    ).replace("agents: [jdoe]", "agents: [kim]")
    edited = saved(folder, "weekly")
    assert (edited.name, edited.agents, edited.routing_profiles, edited.weekdays) == (
        "Weekly Sales (Seoul)",
        ("kim",),
        ("Sales Inbound", "Sales VIP"),
        (0,),
    )


def test_edit_adds_new_keys_at_the_end_and_removes_cleared_ones_keeping_comments(run, folder):
    folder.mkdir()
    (folder / "weekly.yaml").write_text(HAND_WRITTEN, encoding="utf-8")
    run("edit", "weekly", "--clear-prefix", "--max-rows", "500")
    text = (folder / "weekly.yaml").read_text(encoding="utf-8")
    assert "prefix:" not in text
    assert text.startswith("# Reviewed in git: ask #wfm before changing the zone.\n")
    assert "  # the two inbound queues only\n" in text and "# Monday 00:00 Seoul" in text
    assert text.endswith("window_days: 7\nmax_rows: 500\n")
    assert saved(folder, "weekly").max_rows == 500


def test_schedule_and_unschedule_keep_comments(run, folder):
    folder.mkdir()
    (folder / "weekly.yaml").write_text(HAND_WRITTEN, encoding="utf-8")
    run("schedule", "weekly", "--daily")
    text = (folder / "weekly.yaml").read_text(encoding="utf-8")
    assert "schedule: daily" in text and "window_days: 7" in text
    assert "# Reviewed in git" in text and "# the two inbound queues only" in text
    run("unschedule", "weekly")
    text = (folder / "weekly.yaml").read_text(encoding="utf-8")
    assert "schedule: none" in text and "window_days" not in text
    assert "# Reviewed in git" in text and "# shown in the UI" in text
    unscheduled = saved(folder, "weekly")
    assert not unscheduled.is_scheduled and unscheduled.published  # as before the round trip


def test_create_writes_the_same_file_as_before(run, folder):
    """`reports create` still writes the canonical file (a round-trip library only edits)."""
    run("create", "plain", "--name", "Plain", "--agent", "jdoe", "--preset", "today")
    assert (folder / "plain.yaml").read_text(encoding="utf-8") == (
        "# timecard saved report 'plain'. Format: timecard/definitions.py\n"
        "name: Plain\n"
        "timezone: UTC\n"
        "filters:\n"
        "  agents:\n"
        "  - jdoe\n"
        "time_range:\n"
        "  preset: today\n"
        "schedule: none\n"
        "published: false\n"
        "max_rows: 10000\n"
        "lookback_days: 31\n"
    )


def test_edit_changes_only_the_given_options(run, folder, sales):
    code, out = run("edit", "sales", "--name", "Sales (renamed)", "--max-rows", "42")
    assert code == 0
    assert "Updated saved report 'sales'" in out
    edited = saved(folder, "sales")
    assert (edited.name, edited.max_rows) == ("Sales (renamed)", 42)
    assert edited.agents == sales.agents
    assert edited.routing_profiles == sales.routing_profiles
    assert (edited.range_preset, edited.prefix) == ("today", "sales")


def test_edit_a_filter_option_replaces_only_that_list(run, folder, sales):
    run("edit", "sales", "--agent", "bob", "--agent", "carol")
    edited = saved(folder, "sales")
    assert edited.agents == ("bob", "carol")
    assert edited.routing_profiles == ("Sales Inbound",)


def test_edit_clears_filters_time_range_and_prefix(run, folder, sales):
    run("edit", "sales", "--clear-filters", "--hierarchy", "EMEA")
    assert saved(folder, "sales").filters.as_dict() == {
        "agents": [],
        "routing_profiles": [],
        "hierarchies": ["EMEA"],
    }
    run("edit", "sales", "--clear-filters", "--clear-time-range", "--clear-prefix")
    data = yaml_of(folder, "sales")
    assert not {"filters", "time_range", "prefix"} & set(data)


def test_edit_switches_between_preset_and_custom_range(run, folder, sales):
    run("edit", "sales", "--start", "2026-11-01T00:00:00", "--end", "2026-11-02T00:00:00")
    edited = saved(folder, "sales")
    assert (edited.range_preset, edited.range_start) == (None, "2026-11-01T00:00:00")
    run("edit", "sales", "--preset", "last-3-days")
    assert saved(folder, "sales").range_preset == "last-3-days"


def test_edit_without_changes_says_so(run, folder, sales):
    before = (folder / "sales.yaml").read_bytes()
    code, out = run("edit", "sales", "--name", "Sales")
    assert (code, out.strip()) == (0, "Nothing changed in 'sales'.")
    assert (folder / "sales.yaml").read_bytes() == before


def test_edit_refuses_invalid_values_and_keeps_the_file(run, folder, sales):
    before = (folder / "sales.yaml").read_bytes()
    with pytest.raises(DefinitionError, match="Unknown time zone"):
        run("edit", "sales", "--tz", "Not/AZone")
    with pytest.raises(UsageError, match="either --prefix or --clear-prefix"):
        run("edit", "sales", "--prefix", "x", "--clear-prefix")
    assert (folder / "sales.yaml").read_bytes() == before


def test_a_scheduled_report_cannot_be_unpublished(run, folder, sales):
    run("schedule", "sales", "--daily")
    with pytest.raises(DefinitionError, match="always published"):
        run("edit", "sales", "--unpublished")
    assert saved(folder, "sales").published


# --- save-as and delete ---------------------------------------------------------------------


def test_save_as_copies_under_a_new_slug(run, folder, sales):
    code, out = run("save-as", "sales", "sales-copy")
    assert code == 0
    assert "Saved 'sales' as 'sales-copy'" in out
    copy = saved(folder, "sales-copy")
    assert copy.name == "Sales (copy)"
    assert copy.agents == sales.agents and copy.prefix == sales.prefix
    assert saved(folder, "sales") == sales


def test_save_as_with_a_name_and_a_schedule(run, folder, sales):
    run("schedule", "sales", "--daily")
    code, out = run("save-as", "sales", "sales-2", "--name", "Sales two")
    assert saved(folder, "sales-2").name == "Sales two"
    assert "The copy is scheduled too (daily): DAG timecard_sales-2." in out


def test_save_as_refuses_an_existing_or_hostile_target(run, folder, sales):
    run("create", "taken", "--name", "Taken")
    with pytest.raises(UsageError, match="'taken' already exists"):
        run("save-as", "sales", "taken")
    with pytest.raises(UsageError, match="is not allowed"):
        run("save-as", "sales", "../taken")
    assert saved(folder, "taken").name == "Taken"


def test_delete_removes_only_the_definition(run, folder, sales):
    published = folder.parent / "output" / "Reports" / "sales" / "sales-2026-11-02.csv"
    published.parent.mkdir(parents=True)
    published.write_text("header\n", encoding="utf-8")

    code, out = run("delete", "sales")

    assert code == 0
    assert not (folder / "sales.yaml").exists()
    assert "Reports it already published stay where they are" in out
    assert published.exists()


def test_delete_works_on_a_broken_definition(run, folder):
    folder.mkdir()
    (folder / "broken.yaml").write_text("name: [\n", encoding="utf-8")
    run("delete", "broken")
    assert list(folder.iterdir()) == []


# --- schedule and unschedule ----------------------------------------------------------------


def test_schedule_daily_publishes_the_report(run, folder, sales):
    code, out = run("schedule", "sales", "--daily")
    assert code == 0
    scheduled = saved(folder, "sales")
    assert scheduled.schedule == "daily" and scheduled.published
    assert scheduled.window_days == 1
    assert out.startswith("Scheduled 'sales': daily, at 00:00 UTC, covering the previous local")
    assert "published under Reports/sales/. Airflow runs it as DAG timecard_sales." in out


def test_schedule_weekly_with_zone_prefix_and_window(run, folder, sales):
    run(
        "schedule",
        "sales",
        "--weekly",
        "Wed,mon",
        "--tz",
        "Asia/Seoul",
        "--prefix",
        "weekly/seoul",
        "--window-days",
        "7",
    )
    assert yaml_of(folder, "sales")["schedule"] == {"weekly": ["monday", "wednesday"]}
    scheduled = saved(folder, "sales")
    assert (scheduled.weekdays, scheduled.timezone, scheduled.prefix, scheduled.window_days) == (
        (0, 2),
        "Asia/Seoul",
        "weekly/seoul",
        7,
    )


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--weekly", "mon,funday"], "not a weekday: 'funday'"),
        (["--weekly", "mon,,wed"], "not a weekday: ''"),
        (["--daily", "--window-days", "8"], "window_days: must be a whole number from 1 to 7"),
        (["--daily", "--prefix", "/abs"], "starts with '/'"),
    ],
)
def test_schedule_refuses_invalid_values(run, folder, sales, argv, expected):
    with pytest.raises(DefinitionError, match=expected):
        run("schedule", "sales", *argv)
    assert not saved(folder, "sales").is_scheduled


def test_schedule_needs_daily_or_weekly(run, sales):
    with pytest.raises(SystemExit):
        run("schedule", "sales")
    with pytest.raises(SystemExit):
        run("schedule", "sales", "--daily", "--weekly", "mon")


def test_unschedule_keeps_the_definition_published(run, folder, sales):
    run("schedule", "sales", "--weekly", "fri", "--window-days", "5")
    code, out = run("unschedule", "sales")
    assert code == 0
    assert "Unscheduled 'sales'; the definition stays." in out
    data = yaml_of(folder, "sales")
    assert data["schedule"] == "none" and data["published"] is True
    assert "window_days" not in data
    code, out = run("unschedule", "sales")
    assert out.strip() == "'sales' is not scheduled."


# --- folder ---------------------------------------------------------------------------------


def test_the_folder_defaults_to_the_environment_setting(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TIMECARD_REPORTS_DIR", str(tmp_path / "from-env"))
    parser = argparse.ArgumentParser(prog="timecard")
    add_reports_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["reports", "create", "envy", "--name", "From env"])
    assert args.func(args) == 0
    assert load_definition(tmp_path / "from-env" / "envy.yaml").name == "From env"

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from timecard.definitions import (
    DefinitionError,
    ReportDefinition,
    check_prefix,
    check_slug,
    definition_path,
    load_all,
    load_definition,
    parse_definition,
    save_definition,
)
from timecard.errors import UsageError
from timecard.settings import REPO_ROOT
from transforms.filters import Filters

MINIMAL = {"name": "Logins"}


def parse(data, slug="report"):
    return parse_definition(slug, data, f"{slug}.yaml")


def problems_of(data, slug="report"):
    with pytest.raises(DefinitionError) as caught:
        parse(data, slug)
    return caught.value


def write(folder: Path, file_name: str, text: str | bytes) -> Path:
    path = folder / file_name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# --- the shipped examples -------------------------------------------------------------------


def test_example_definitions_load_with_the_documented_settings():
    definitions, errors = load_all(REPO_ROOT / "reports")
    assert errors == []
    by_slug = {d.slug: d for d in definitions}
    assert set(by_slug) == {"daily-utc", "weekly-seoul"}

    daily = by_slug["daily-utc"]
    assert (daily.timezone, daily.schedule, daily.prefix, daily.published) == (
        "UTC",
        "daily",
        "daily",
        True,
    )
    assert daily.weekdays == (0, 1, 2, 3, 4, 5, 6)
    assert daily.filters == Filters()

    weekly = by_slug["weekly-seoul"]
    assert (weekly.timezone, weekly.window_days, weekly.prefix) == (
        "Asia/Seoul",
        7,
        "weekly/seoul",
    )
    assert weekly.weekdays == (0,)
    assert weekly.filters == Filters(routing_profiles=("Sales Inbound",))
    assert weekly.published


# --- defaults and round trip ----------------------------------------------------------------


def test_minimal_definition_gets_the_defaults():
    definition = parse(MINIMAL)
    assert definition == ReportDefinition(slug="report", name="Logins")
    assert definition.timezone == "UTC"
    assert definition.max_rows == 10_000
    assert definition.lookback_days == 31
    assert definition.window_days == 1
    assert definition.published is False
    assert definition.prefix is None
    assert not definition.is_scheduled
    assert definition.weekdays is None
    assert definition.default_time_range(datetime(2026, 11, 2, tzinfo=UTC)) is None


FULL = {
    "name": "Sales logins, 서울",
    "timezone": "Asia/Seoul",
    "filters": {
        "agents": ["jdoe", "asmith"],
        "routing_profiles": ["Sales Inbound", "Billing"],
        "hierarchies": ["Americas/Sales", "EMEA"],
    },
    "time_range": {"preset": "last-2-days"},
    "schedule": {"weekly": ["Wed", "MONDAY", "mon"]},
    "window_days": 7,
    "prefix": "weekly/seoul.v2",
    "published": True,
    "max_rows": 500,
    "lookback_days": 366,
}


def test_full_definition_parses_every_field():
    definition = parse(FULL)
    assert definition.filters == Filters(
        agents=("jdoe", "asmith"),
        routing_profiles=("Sales Inbound", "Billing"),
        hierarchies=("Americas/Sales", "EMEA"),
    )
    # Names and abbreviations in any case; duplicates collapse, days come out in week order.
    assert definition.weekdays == (0, 2)
    assert definition.describe_schedule() == "weekly mon,wed (7-day window)"
    assert definition.range_preset == "last-2-days"
    assert (definition.prefix, definition.max_rows, definition.lookback_days) == (
        "weekly/seoul.v2",
        500,
        366,
    )


@pytest.mark.parametrize(
    "data",
    [
        MINIMAL,
        FULL,
        {**MINIMAL, "schedule": "daily", "window_days": 3, "timezone": "America/New_York"},
        {**MINIMAL, "time_range": {"start": "2026-11-01T00:00:00", "end": "2026-11-02T12:00:00"}},
        {**MINIMAL, "published": True, "prefix": "a/b/c"},
        {**MINIMAL, "completeness": {"settle_minutes": 0.25, "max_wait_minutes": 90}},
        {**MINIMAL, "completeness": {"max_wait_minutes": 30}},
    ],
)
def test_round_trip_through_yaml_and_the_file_system(tmp_path, data):
    definition = parse(data)
    assert parse(yaml.safe_load(definition.to_yaml())) == definition
    path = save_definition(definition, tmp_path)
    assert path == tmp_path / "report.yaml"
    assert load_definition(path) == definition


def test_unquoted_yaml_timestamps_are_accepted_as_a_custom_range(tmp_path):
    path = write(
        tmp_path,
        "custom.yaml",
        "name: X\ntimezone: Asia/Seoul\ntime_range:\n"
        "  start: 2026-11-02T00:00:00\n  end: 2026-11-03\n",
    )
    definition = load_definition(path)
    assert (definition.range_start, definition.range_end) == ("2026-11-02T00:00:00", "2026-11-03")
    window = definition.default_time_range(datetime(2030, 1, 1, tzinfo=UTC))
    # Naive values are read in the report's zone: Seoul midnight is 15:00 UTC the day before.
    assert window.start == datetime(2026, 11, 1, 15, tzinfo=UTC)
    assert window.end == datetime(2026, 11, 2, 15, tzinfo=UTC)


def test_default_time_range_from_a_preset_is_relative_to_now():
    definition = parse({**MINIMAL, "timezone": "Asia/Seoul", "time_range": {"preset": "yesterday"}})
    window = definition.default_time_range(datetime(2026, 11, 3, 1, tzinfo=UTC))
    assert window.local_start.isoformat() == "2026-11-02T00:00:00+09:00"
    assert window.local_end.isoformat() == "2026-11-03T00:00:00+09:00"


# --- validation rules -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, "name: is required"),
        ({"name": "   "}, "name: must be non-empty text"),
        ({"name": 42}, "name: must be non-empty text"),
        ({"name": "two\nlines"}, "without control characters"),
        ({"name": "x" * 201}, "at most 200"),
        ({**MINIMAL, "timezone": "Mars/Olympus"}, "Unknown time zone 'Mars/Olympus'"),
        ({**MINIMAL, "timezone": 9}, "timezone: must be an IANA time zone name"),
        ({**MINIMAL, "filters": ["jdoe"]}, "filters: must be a mapping"),
        ({**MINIMAL, "filters": {"agents": "jdoe"}}, "filters.agents: must be a list"),
        ({**MINIMAL, "filters": {"agents": [1234]}}, "1234 is not a non-empty text value"),
        ({**MINIMAL, "filters": {"routing_profiles": [""]}}, "'' is not a non-empty text"),
        ({**MINIMAL, "filters": {"hierarchies": ["A//B"]}}, "non-empty level names"),
        ({**MINIMAL, "filters": {"hierarchies": ["1/2/3/4/5/6"]}}, "1 to 5 non-empty level"),
        ({**MINIMAL, "time_range": "yesterday"}, "time_range: must be {preset: NAME}"),
        ({**MINIMAL, "time_range": {"preset": "last-week"}}, "'last-week' is not a preset"),
        ({**MINIMAL, "time_range": {"start": "2026-11-01T00:00:00"}}, "only one of start"),
        (
            {
                **MINIMAL,
                "time_range": {"preset": "today", "start": "2026-11-01", "end": "2026-11-02"},
            },
            "not both",
        ),
        (
            {**MINIMAL, "time_range": {"start": "2026-11-01", "end": "2026-11-09"}},
            "at most 7 days",
        ),
        ({**MINIMAL, "time_range": {"start": "2026-11-02", "end": "2026-11-01"}}, "at or before"),
        ({**MINIMAL, "time_range": {"start": "soon", "end": "later"}}, "Cannot read 'soon'"),
        ({**MINIMAL, "schedule": "hourly"}, "schedule: must be none, daily"),
        ({**MINIMAL, "schedule": "weekly"}, "schedule: must be none, daily"),
        ({**MINIMAL, "schedule": False}, "schedule: must be none, daily"),
        ({**MINIMAL, "schedule": {"weekly": []}}, "must name at least one weekday"),
        ({**MINIMAL, "schedule": {"weekly": "monday"}}, "must name at least one weekday"),
        ({**MINIMAL, "schedule": {"weekly": ["mon", "funday"]}}, "not a weekday: 'funday'"),
        ({**MINIMAL, "schedule": {"weekly": ["mo"]}}, "not a weekday: 'mo'"),
        ({**MINIMAL, "schedule": {"weekly": ["mon"], "daily": True}}, "must be none, daily"),
        ({**MINIMAL, "schedule": "daily", "window_days": 0}, "window_days: must be a whole"),
        ({**MINIMAL, "schedule": "daily", "window_days": 8}, "from 1 to 7; got 8"),
        ({**MINIMAL, "window_days": 7}, "window_days: only applies to a scheduled report"),
        ({**MINIMAL, "schedule": "daily", "published": False}, "always published"),
        ({**MINIMAL, "published": "yes"}, "published: must be true or false"),
        ({**MINIMAL, "max_rows": 0}, "max_rows: must be a whole number of at least 1; got 0"),
        ({**MINIMAL, "max_rows": 10.5}, "max_rows: must be a whole number"),
        ({**MINIMAL, "max_rows": True}, "max_rows: must be a whole number"),
        ({**MINIMAL, "lookback_days": -1}, "lookback_days: must be a whole number from 0 to 366"),
        ({**MINIMAL, "lookback_days": 367}, "from 0 to 366; got 367"),
        ({**MINIMAL, "prefix": ""}, "empty segment"),
        ({**MINIMAL, "prefix": 2026}, "prefix: must be text"),
        ({**MINIMAL, "completeness": 15}, "completeness: must be a mapping"),
        ({**MINIMAL, "completeness": {"settle_minutes": -1}}, "settle_minutes: must be a number"),
        ({**MINIMAL, "completeness": {"max_wait_minutes": "1h"}}, "max_wait_minutes: must be a"),
        ({**MINIMAL, "completeness": {"settle_minutes": True}}, "settle_minutes: must be a number"),
        (
            {**MINIMAL, "completeness": {"settle_minutes": 30, "max_wait_minutes": 10}},
            "max_wait_minutes (10) is shorter than settle_minutes (30)",
        ),
        ({**MINIMAL, "completeness": {"settle": 5}}, "Did you mean 'completeness.settle_minutes'"),
    ],
)
def test_each_rule_is_refused_with_a_clear_message(data, expected):
    error = problems_of(data)
    assert expected in str(error)
    assert isinstance(error, UsageError)


@pytest.mark.parametrize(
    ("data", "check"),
    [
        ({**MINIMAL, "schedule": "daily"}, lambda d: d.published and d.weekdays == tuple(range(7))),
        ({**MINIMAL, "schedule": "none", "window_days": 1}, lambda d: d.weekdays is None),
        ({**MINIMAL, "schedule": "DAILY"}, lambda d: d.schedule == "daily"),
        ({**MINIMAL, "schedule": {"weekly": ["sun", "Saturday"]}}, lambda d: d.weekdays == (5, 6)),
        ({**MINIMAL, "published": True}, lambda d: d.published and not d.is_scheduled),
        ({**MINIMAL, "filters": {"hierarchies": [" A / B "]}}, lambda d: d.hierarchies == ("A/B",)),
        ({**MINIMAL, "filters": {}}, lambda d: d.filters.is_empty()),
        ({"name": "  Padded  "}, lambda d: d.name == "Padded"),
    ],
)
def test_accepted_variants(data, check):
    assert check(parse(data))


def test_every_problem_is_reported_in_one_paragraph_naming_the_file(tmp_path):
    path = write(
        tmp_path,
        "many.yaml",
        "timezone: Nowhere/Town\nschedule: hourly\nmax_rows: -1\nprefix: ../up\n",
    )
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    message = str(caught.value)
    assert message.startswith(f"Report definition {path} is invalid:")
    assert "\n" not in message
    for fragment in ("name: is required", "Nowhere/Town", "schedule:", "max_rows:", "'..'"):
        assert fragment in message
    assert len(caught.value.problems) == 5


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("scheduel", "Did you mean 'schedule'?"),
        ("time_zone", "Did you mean 'timezone'?"),
        ("Name", "Did you mean 'name'?"),
        ("maxrows", "Did you mean 'max_rows'?"),
        ("slug", "The slug is the file name"),
        ("colour", "Known settings here: name, timezone"),
    ],
)
def test_unknown_keys_are_refused_with_a_hint(key, hint):
    message = str(problems_of({**MINIMAL, key: "x"}))
    assert "Unknown setting" in message
    assert hint in message


def test_unknown_nested_keys_are_refused_with_a_hint():
    message = str(problems_of({**MINIMAL, "filters": {"agent": ["jdoe"]}}))
    assert "Unknown setting 'filters.agent'. Did you mean 'filters.agents'?" in message
    message = str(problems_of({**MINIMAL, "time_range": {"presets": "today"}}))
    assert "Did you mean 'time_range.preset'?" in message


# --- security: slugs and prefixes -----------------------------------------------------------

HOSTILE_SLUGS = [
    "",
    "../x",
    "..",
    ".hidden",
    "/etc",
    "a/b",
    "a\\b",
    "%2e%2e",
    "nul\x00byte",
    "UPPER",
    "-leading-dash",
    "_leading-underscore",
    "trailing-newline\n",
    "with space",
    "a" * 65,
    "dаily",  # Cyrillic 'а'
    "ｄaily",  # fullwidth 'ｄ'
    "daily․yaml",  # one-dot leader
]


@pytest.mark.parametrize("slug", HOSTILE_SLUGS)
def test_hostile_slugs_are_refused(tmp_path, slug):
    with pytest.raises(UsageError, match="is not allowed"):
        check_slug(slug)
    with pytest.raises(UsageError):
        definition_path(tmp_path, slug)
    assert "The slug" in str(problems_of(MINIMAL, slug=slug))


@pytest.mark.parametrize("slug", ["a", "0", "daily-utc", "weekly_seoul-2", "a" * 64])
def test_plain_slugs_are_accepted(slug):
    assert check_slug(slug) == slug


def test_a_file_with_a_hostile_name_is_reported_not_loaded(tmp_path):
    write(tmp_path, "Bad Name.yaml", "name: X\n")
    write(tmp_path, "good.yaml", "name: X\n")
    definitions, errors = load_all(tmp_path)
    assert [d.slug for d in definitions] == ["good"]
    assert "'Bad Name' is not allowed" in str(errors[0])


HOSTILE_PREFIXES = [
    ("../x", "'..'"),
    ("..", "'..'"),
    ("a/../../b", "'..'"),
    ("a/..", "'..'"),
    ("/etc", "starts with '/'"),
    ("//server/share", "starts with '/'"),
    ("a\\b", "backslash"),
    ("..\\..\\windows", "backslash"),
    ("a//b", "empty segment"),
    ("a/", "empty segment"),
    ("%2e%2e/x", "segment '%2e%2e' is not allowed"),
    ("a/%2F", "is not allowed"),
    ("nul\x00byte", "is not allowed"),
    ("line\nbreak", "is not allowed"),
    ("trailing\n", "is not allowed"),
    ("x" * 257, "at most 256"),
    ("dаily", "is not allowed"),  # Cyrillic 'а'
    ("weekly／seoul", "is not allowed"),  # fullwidth solidus
    ("․․/x", "is not allowed"),  # one-dot leaders
    (".hidden", "is not allowed"),
    ("-dash", "is not allowed"),
    ("date=2026-11-02", "is not allowed"),
    ("s3:", "is not allowed"),
    ("with space", "is not allowed"),
    ("~", "is not allowed"),
]


@pytest.mark.parametrize(("prefix", "reason"), HOSTILE_PREFIXES)
def test_hostile_prefixes_are_refused(prefix, reason):
    with pytest.raises(UsageError) as caught:
        check_prefix(prefix)
    assert reason in str(caught.value)
    message = str(problems_of({**MINIMAL, "prefix": prefix}))
    assert reason in message
    # Hostile values reach the message escaped and shortened: no raw control characters,
    # no 10,000-character floods.
    assert "\x00" not in message and "\n" not in message
    assert len(message) < 400


@pytest.mark.parametrize(
    "prefix", ["daily", "weekly/seoul", "A1/b.2/c_3/d-4", "v1.0", "x" * 256, "a/" * 127 + "bc"]
)
def test_plain_prefixes_are_accepted(prefix):
    assert check_prefix(prefix) == prefix
    assert parse({**MINIMAL, "prefix": prefix}).prefix == prefix


# --- output namespaces ----------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["adhoc", "ADHOC", "AdHoc", "adhoc.", "adhoc/x", "Adhoc./daily"])
def test_a_prefix_into_the_adhoc_namespace_is_refused_when_the_file_loads(tmp_path, prefix):
    write(tmp_path, "sneaky.yaml", f"name: Sneaky\nschedule: daily\nprefix: {prefix}\n")
    write(tmp_path, "fine.yaml", "name: Fine\nschedule: daily\nprefix: team/adhoc\n")
    definitions, [error] = load_all(tmp_path)
    assert [d.slug for d in definitions] == ["fine"]  # 'adhoc' below the first segment is fine
    message = str(error)
    assert message.startswith(f"Report definition {tmp_path / 'sneaky.yaml'} is invalid: prefix:")
    assert "Reports/adhoc/" in message and "timecard_adhoc" in message
    assert "Choose another prefix" in message and "\n" not in message
    with pytest.raises(UsageError, match="ad hoc outputs"):
        check_prefix(prefix)


def test_the_refused_namespace_is_the_one_ad_hoc_runs_publish_into():
    from timecard import definitions, pipeline

    assert definitions.ADHOC_PREFIX == pipeline.ADHOC_PREFIX
    spec = pipeline.ReportSpec("x", "X", "UTC", prefix=pipeline.ADHOC_PREFIX)
    assert pipeline.report_folder(spec).endswith("/Reports/adhoc")


@pytest.mark.parametrize("prefix", ["adhocs", "ad-hoc", "my-adhoc", "team/adhoc", "adhoc-x"])
def test_prefixes_that_only_resemble_adhoc_are_their_own_folders(prefix):
    assert parse({**MINIMAL, "prefix": prefix}).prefix == prefix


def test_reports_may_share_a_folder_or_nest_since_file_names_carry_the_slug(tmp_path):
    for slug, prefix in (("one", "team"), ("two", "team"), ("three", "team/emea"), ("four", None)):
        text = f"name: {slug}\nschedule: daily\n" + (f"prefix: {prefix}\n" if prefix else "")
        write(tmp_path, f"{slug}.yaml", text)
    definitions, errors = load_all(tmp_path)
    assert errors == [] and len(definitions) == 4


# --- broken files ---------------------------------------------------------------------------


def test_yaml_syntax_error_names_the_file_and_the_line(tmp_path):
    path = write(tmp_path, "broken.yaml", "name: X\nfilters: [unclosed\nmax_rows: 3\n")
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    message = str(caught.value)
    assert str(path) in message
    assert "It is not valid YAML at line" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- name: X\n", "not a list"),
        ("just a sentence\n", "not a single text value"),
        ("42\n", "not a value of type int"),
        ("", "It is empty"),
        ("# only a comment\n", "It is empty"),
    ],
)
def test_a_file_that_is_not_a_mapping_is_refused(tmp_path, text, expected):
    path = write(tmp_path, "shape.yaml", text)
    with pytest.raises(DefinitionError, match=expected):
        load_definition(path)


def test_python_tags_are_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = write(
        tmp_path,
        "evil.yaml",
        f'name: !!python/object/apply:os.system ["touch {marker}"]\n',
    )
    with pytest.raises(DefinitionError, match="YAML tag that is not allowed"):
        load_definition(path)
    assert not marker.exists()
    path = write(tmp_path, "evil2.yaml", "name: !!python/object:builtins.object {}\n")
    with pytest.raises(DefinitionError, match="python/object"):
        load_definition(path)


def test_a_list_used_as_a_key_is_invalid_yaml_not_a_tag(tmp_path):
    path = write(tmp_path, "key.yaml", "name: X\n? [a, b]\n: 1\n")
    with pytest.raises(DefinitionError, match="not valid YAML at line 2.*unhashable key"):
        load_definition(path)


def test_invalid_utf8_and_oversized_files_are_refused(tmp_path):
    path = write(tmp_path, "latin1.yaml", "name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(DefinitionError, match="not valid YAML"):
        load_definition(path)
    path = write(tmp_path, "huge.yaml", "name: X\n" + "# padding\n" * 8000)
    with pytest.raises(DefinitionError, match="larger than 65536 bytes"):
        load_definition(path)


def test_a_file_must_end_in_yaml(tmp_path):
    with pytest.raises(DefinitionError, match="must end in .yaml"):
        load_definition(write(tmp_path, "report.txt", "name: X\n"))


def test_a_missing_file_is_a_definition_error(tmp_path):
    with pytest.raises(DefinitionError, match="cannot be read"):
        load_definition(tmp_path / "gone.yaml")


# --- load_all -------------------------------------------------------------------------------


def test_load_all_isolates_broken_files(tmp_path):
    write(tmp_path, "b-good.yaml", "name: B\nschedule: daily\n")
    write(tmp_path, "a-good.yaml", "name: A\n")
    write(tmp_path, "c-syntax.yaml", "name: [\n")
    write(tmp_path, "d-typo.yaml", "name: D\nscheduel: daily\n")
    write(tmp_path, "e-old.yml", "name: E\n")
    write(tmp_path, ".e-good.1234.tmp", "half a fi")  # an interrupted save
    write(tmp_path, ".swap.yaml", "name: [\n")  # hidden: an editor's file
    write(tmp_path, "README.md", "# notes\n")
    (tmp_path / "folder.yaml").mkdir()

    definitions, errors = load_all(tmp_path)

    assert [d.slug for d in definitions] == ["a-good", "b-good"]
    assert [Path(e.source).name for e in errors] == ["c-syntax.yaml", "d-typo.yaml", "e-old.yml"]
    assert "Did you mean 'schedule'?" in str(errors[1])
    assert "Rename it to e-old.yaml" in str(errors[2])


def test_load_all_of_a_missing_folder_is_empty(tmp_path):
    assert load_all(tmp_path / "nothing-here") == ([], [])


# --- save_definition ------------------------------------------------------------------------


def test_save_writes_atomically_and_leaves_no_temporary_file(tmp_path):
    folder = tmp_path / "new" / "reports"
    first = parse({**MINIMAL, "prefix": "one"})
    second = parse({**MINIMAL, "prefix": "two"})
    save_definition(first, folder)
    path = save_definition(second, folder)
    assert sorted(p.name for p in folder.iterdir()) == ["report.yaml"]
    assert load_definition(path) == second
    assert path.read_text(encoding="utf-8").startswith("# timecard saved report 'report'")
    assert path.stat().st_mode & 0o777 == 0o644


def test_save_without_overwrite_refuses_an_existing_slug(tmp_path):
    save_definition(parse({"name": "Original"}), tmp_path)
    with pytest.raises(UsageError, match="already exists"):
        save_definition(parse({"name": "Intruder"}), tmp_path, overwrite=False)
    assert load_definition(tmp_path / "report.yaml").name == "Original"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.yaml"]


@pytest.mark.parametrize(
    "definition",
    [
        ReportDefinition(slug="report", name="X", prefix="../../etc"),
        ReportDefinition(slug="../escape", name="X"),
        ReportDefinition(slug="report", name="X", schedule="daily", published=False),
    ],
)
def test_save_refuses_a_definition_built_in_code_that_would_not_load(tmp_path, definition):
    with pytest.raises(UsageError):
        save_definition(definition, tmp_path / "reports")
    assert not (tmp_path / "reports").exists()
    assert list(tmp_path.iterdir()) == []


# --- parse time -----------------------------------------------------------------------------


def test_loading_definitions_does_not_import_polars_or_airflow():
    """DAG files load definitions at Airflow parse time, which must stay light."""
    code = (
        "import sys; from timecard.definitions import load_all; "
        f"definitions, errors = load_all({str(REPO_ROOT / 'reports')!r}); "
        "assert len(definitions) == 2 and not errors; "
        "print(sorted(m for m in ('polars', 'airflow', 'pandera') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_formats_and_notify_are_parsed_and_saved_back():
    text = (
        "name: N\nformats: [parquet]\n"
        "notify:\n  email: [ops@example.com, ops@example.com, b@example.org]\n  on: [row_limit]\n"
    )
    definition = parse_definition("n", yaml.safe_load(text), "n.yaml")
    assert definition.formats == ("parquet",)
    # YAML reads a bare `on:` key as true; it still means `on`.
    assert definition.notify_email == ("ops@example.com", "b@example.org")
    assert definition.notify_on == ("row_limit",)
    assert parse_definition("n", yaml.safe_load(definition.to_yaml()), "n.yaml") == definition
    plain = parse_definition("n", {"name": "N"}, "n.yaml")
    assert plain.formats == ("csv", "parquet") and plain.notify_email == ()
    assert "formats" not in plain.to_yaml() and "notify" not in plain.to_yaml()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"formats": []}, "formats: must be a non-empty list"),
        ({"formats": ["xlsx"]}, "not a format: 'xlsx'"),
        ({"notify": {"email": []}}, "notify.email must list at least one address"),
        ({"notify": {"email": ["a@b.com\r\nBcc: x@y.com"]}}, "not an email address"),
        ({"notify": {"email": ["Ops <a@b.com>"]}}, "not an email address"),
        ({"notify": {"email": ["a@b.com"], "on": ["sometimes"]}}, "got on: ['sometimes']"),
        ({"notify": {"emails": ["a@b.com"]}}, "Did you mean 'notify.email'?"),
    ],
)
def test_bad_formats_and_notify_are_refused(body, problem):
    with pytest.raises(DefinitionError) as refusal:
        parse_definition("n", {"name": "N", **body}, "n.yaml")
    assert problem in str(refusal.value)

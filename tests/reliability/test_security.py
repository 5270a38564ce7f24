"""Security: outputs stay in their tree, YAML is loaded safely, credentials never leak, and no
CSV cell can start a spreadsheet formula.

Already tested elsewhere, and only referenced here:
- hostile slugs and prefixes (`..`, absolute paths, backslashes, encoded dots, look-alike Unicode,
  control characters, ...) are refused with a clear message:
  `tests/timecard/test_definitions.py::test_hostile_slugs_are_refused`,
  `::test_hostile_prefixes_are_refused`, `::test_a_file_with_a_hostile_name_is_reported_not_loaded`;
- YAML tags that would build Python objects are refused and never run:
  `tests/timecard/test_definitions.py::test_python_tags_are_refused_and_never_executed`;
- the formula guard on each trigger, on the report frame:
  `tests/transforms/test_report.py::test_formula_guard_for_every_trigger`.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import posixpath
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from schemas.columns import FORMULA_TRIGGERS, TEXT_COLUMNS
from tests.builders import event, write_ndjson
from timecard import pipeline, storage
from timecard.cli import main
from timecard.definitions import DefinitionError, parse_definition
from timecard.settings import REPO_ROOT, get_settings

# -- outputs stay below {output_root}/connect/{alias}/Reports/ -----------------------------------

# Characters that separate, climb, escape, encode or imitate path segments, and a few plain ones.
PATH_ALPHABET = "aZ09._-/\\%~:= ?#*\x00\n\t" + "\u2024\uff0f\u0430\u2215"
HOSTILE_SEGMENTS = ("..", ".", "", "%2e%2e", "~", "a\\b", "\u2024\u2024", "c:", ".hidden")
OUTPUT_ROOTS = ("/srv/timecard/output", "s3://reports-bucket/timecard")
# About half of the drawn values pass validation, so both outcomes are exercised.
slugs = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,12}", fullmatch=True) | st.text(PATH_ALPHABET)
segments = st.one_of(
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,8}", fullmatch=True),
    st.sampled_from(HOSTILE_SEGMENTS),
    st.text(PATH_ALPHABET, max_size=6),
)
prefixes = st.lists(segments, min_size=1, max_size=4).map("/".join) | st.none()


def assert_inside_delivery_tree(url: str, output_root: str, slug: str) -> None:
    tree = storage.join(output_root, "connect", get_settings().instance_alias, "Reports")
    scheme = "s3://" if url.startswith("s3://") else ""
    path = url.removeprefix(scheme)
    # Nothing a file system or an S3 client would resolve differently: no '.', '..' or '//'.
    assert scheme + posixpath.normpath(path) == url
    assert url.startswith(tree + "/")
    assert posixpath.basename(path).startswith(f"{slug}-2026-11-02")


@pytest.mark.parametrize("output_root", OUTPUT_ROOTS)
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(slug=slugs, prefix=prefixes)
@example(slug="daily-utc", prefix="team/daily.v2")
@example(slug="0", prefix="a/b/c/d")
def test_a_definition_is_refused_or_publishes_inside_its_tree(
    monkeypatch, output_root, slug, prefix
):
    monkeypatch.setenv("TIMECARD_OUTPUT_ROOT", output_root)
    data = {"name": "Report"} | ({} if prefix is None else {"prefix": prefix})
    try:
        definition = parse_definition(slug, data, f"{slug}.yaml")
    except DefinitionError:
        return  # refused: no path is ever built from it
    spec = pipeline.ReportSpec.from_definition(definition)
    for url in pipeline.output_urls(spec, "2026-11-02").values():
        assert_inside_delivery_tree(url, output_root, slug)


@settings(max_examples=200, deadline=None)
@given(name=st.text(PATH_ALPHABET + "ÀßЖ한", max_size=80))
def test_an_ad_hoc_report_name_cannot_steer_its_output_path(name):
    spec, _ = pipeline.adhoc_spec_and_window(
        {"preset": "yesterday", "timezone": "UTC", "name": name}, datetime(2026, 11, 3, tzinfo=UTC)
    )
    for url in pipeline.output_urls(spec, "2026-11-02").values():
        assert_inside_delivery_tree(url, get_settings().output_root, spec.slug)
        assert "/Reports/adhoc/date=2026-11-02/" in url


# -- YAML -----------------------------------------------------------------------------------------


def test_shipped_code_uses_only_the_safe_yaml_functions():
    """Every PyYAML call in what timecard ships is `safe_load` or `safe_dump`."""
    calls = set()
    for folder in ("timecard", "dags", "plugins", "transforms", "schemas"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            # The one exception: libyaml's safe loader (the same SafeConstructor), fetched by
            # name and passed as the Loader of `yaml.load` in timecard/definitions.py.
            text = text.replace('getattr(yaml, "CSafeLoader", None)', "")
            text = text.replace("yaml.load(raw, Loader=loader)", "yaml.safe_load(raw)")
            calls |= set(re.findall(r"\byaml\.(\w+)\(", text))
            assert not re.search(r"\bLoader\s*=|Unsafe|FullLoader|full_load", text), path
    assert calls and calls <= {"safe_load", "safe_dump"}


def test_the_round_trip_yaml_parser_is_used_only_in_round_trip_mode():
    """ruamel.yaml (comment-keeping edits of definitions) builds plain mappings, never objects."""
    modes = []
    for folder in ("timecard", "dags", "plugins", "transforms", "schemas"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            modes += re.findall(r"\bYAML\(([^)]*)\)", text)
            assert not re.search(r"typ\s*=\s*[\"'](unsafe|full)", text), path
    assert modes and set(modes) == {'typ="rt", pure=True'}


# -- credentials ----------------------------------------------------------------------------------

DEFINITION = "name: Daily UTC\nschedule: daily\nprefix: team/daily\nlookback_days: 1\n"
RUN_AT = datetime(2026, 11, 3, tzinfo=UTC)  # the run at 00:00 UTC covers 2026-11-02


@pytest.fixture
def canary_credentials(s3_bucket, timecard_home, tmp_path, monkeypatch) -> dict[str, str]:
    """Distinctive credentials for the S3 server, with events, cache and output in the bucket."""
    credentials = {
        "AWS_ACCESS_KEY_ID": f"AKIACANARY{uuid.uuid4().hex[:10].upper()}",
        "AWS_SECRET_ACCESS_KEY": f"canary-secret-{uuid.uuid4().hex}",
    }
    for name, value in credentials.items():
        monkeypatch.setenv(name, value)
    for name in ("EVENTS", "OUTPUT", "CACHE"):
        monkeypatch.setenv(f"TIMECARD_{name}_ROOT", f"{s3_bucket}/{name.lower()}")
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "daily-utc.yaml").write_text(DEFINITION)
    monkeypatch.setenv("TIMECARD_REPORTS_DIR", str(reports))
    local = tmp_path / "raw"
    write_ndjson(
        local,
        "2026-11-02",
        [
            event("LOGIN", "2026-11-02T08:00:00Z", "a"),
            event("LOGOUT", "2026-11-02T09:00:00Z", "a"),
            {**event("LOGIN", "2026-11-02T10:00:00Z", "b"), "EventId": None},  # quarantined
        ],
    )
    for path in local.rglob("*.json"):
        storage.write_bytes(f"{s3_bucket}/events/{path.relative_to(local)}", path.read_bytes())
    return credentials


def airflow_log_files() -> list[str]:
    logs = Path(os.environ["AIRFLOW_HOME"], "logs")
    return [path.read_text(errors="replace") for path in logs.rglob("*") if path.is_file()]


def failure_messages(s3_bucket: str, tmp_path: Path, capfd) -> list[str]:
    """What a user sees when S3 access fails: a missing bucket for the events, then the output.
    Each is a one-paragraph refusal naming the bucket, not "an internal error"."""
    messages = []
    for events, out in (
        ("s3://no-such-bucket-for-timecard/events", str(tmp_path / "r.csv")),
        (f"{s3_bucket}/events", "s3://no-such-bucket-for-timecard/r.csv"),
    ):
        exit_code = main(
            ["report", "--events", events, "--start", "2026-11-02T00:00:00"]
            + ["--end", "2026-11-03T00:00:00", "--lookback-days", "0", "--out", out]
        )
        # stderr also holds the S3 server's access log, which runs in this process.
        stderr = capfd.readouterr().err
        [message] = [line for line in stderr.splitlines() if line.startswith("timecard: ")]
        assert exit_code == 1
        assert message.startswith("timecard: error: Could not ")
        assert "no-such-bucket-for-timecard" in message and "bucket does not exist" in message
        messages.append(stderr)
    return messages


@pytest.fixture
def airflow_info_logging(monkeypatch):
    """Airflow's own logs at INFO, its production default (the test suite runs it at WARNING)."""
    from airflow.logging_config import configure_logging

    previous = os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"]
    monkeypatch.setenv("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")
    configure_logging()
    yield
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = previous
    configure_logging()


@pytest.mark.slow
def test_credentials_appear_in_no_log_manifest_message_or_dag_doc(
    canary_credentials, s3_bucket, airflow_db, airflow_info_logging, tmp_path, capfd, caplog
):
    from airflow.dag_processing.dagbag import DagBag

    caplog.set_level(logging.DEBUG)  # every library's debug log too: botocore, s3fs, fsspec
    bag = DagBag(dag_folder=str(REPO_ROOT / "dags"))
    run = bag.dags["timecard_daily-utc"].test(logical_date=RUN_AT)

    assert run.state == "success"
    published = storage.list_files(f"{s3_bucket}/output/connect")
    visible = [file for file in published if not Path(file.url).name.startswith("_")]
    assert sorted(Path(file.url).name for file in visible) == [
        "daily-utc-2026-11-02.csv",
        "daily-utc-2026-11-02.parquet",
        "daily-utc-2026-11-02_manifest.json",
        "daily-utc-2026-11-02_quarantine.jsonl",
    ]
    airflow_output = capfd.readouterr()
    # Airflow's task logs were captured, down to the publish task: the search below is not vacuous.
    assert "task_id='publish_report'" in airflow_output.out
    texts = {
        "published files": [
            # The Parquet file is compressed: its values are searched, not its bytes.
            str(storage.read_parquet(file.url).rows())
            if file.url.endswith(".parquet")
            else storage.read_bytes(file.url).decode()
            for file in published
        ],
        "DAG and task docs": [
            str(doc)
            for dag in bag.dags.values()
            for doc in (dag.doc_md, dag.description, *(task.doc_md for task in dag.tasks))
        ],
        "settings": [repr(get_settings())],
        "Airflow task log files": airflow_log_files(),
        "Airflow output": [airflow_output.out, airflow_output.err],
        "logs at INFO and above": [
            record.getMessage() for record in caplog.records if record.levelno >= logging.INFO
        ],
        "error messages": failure_messages(s3_bucket, tmp_path, capfd),
        "Airflow metadata database": [
            path.read_bytes().decode("latin-1")
            for path in Path(os.environ["AIRFLOW_HOME"]).glob("airflow.db*")
        ],
    }

    secret = canary_credentials["AWS_SECRET_ACCESS_KEY"]
    key_id = canary_credentials["AWS_ACCESS_KEY_ID"]
    assert secret not in caplog.text  # not even at DEBUG
    for where, found in texts.items():
        for text in found:
            assert secret not in text, f"the secret access key appears in the {where}"
            assert key_id not in text, f"the access key id appears in the {where}"
    # botocore's own DEBUG wire log prints each request's SigV4 Authorization header, which names
    # the access key id (never the secret). That is the only place it shows up.
    assert {
        (record.name, record.levelname)
        for record in caplog.records
        if key_id in record.getMessage()
    } <= {("botocore.endpoint", "DEBUG")}


# -- the spreadsheet formula guard, end to end ----------------------------------------------------

TEXT_FIELDS = ("username", "first_name", "last_name", "routing_profile")


@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS, ids=repr)
def test_no_csv_cell_can_start_a_formula(trigger, tmp_path, capsys):
    value = f"{trigger}SUM(A1:A9)*cmd|' /C calc'!A0"
    record = event(
        "LOGIN",
        "2026-11-02T08:00:00Z",
        "a",
        **dict.fromkeys(TEXT_FIELDS, value),
        hierarchy=(value,) * 5,
    )
    record["AgentARN"] = value
    write_ndjson(tmp_path / "events", "2026-11-02", [record])
    out = tmp_path / "report.csv"

    exit_code = main(
        ["report", "--events", str(tmp_path / "events"), "--start", "2026-11-02T00:00:00"]
        + ["--end", "2026-11-03T00:00:00", "--out", str(out), "--cache", str(tmp_path / "c")]
    )

    assert exit_code == 0, capsys.readouterr().err
    [row] = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    text_cells = [row[column] for column in (*TEXT_COLUMNS.values(), "Agent ARN")]
    assert len(text_cells) == 10
    for cell in text_cells:
        assert not cell.startswith(FORMULA_TRIGGERS)
        # A leading tab or carriage return is trimmed on the way in, like all edge whitespace;
        # a visible trigger is kept and escaped with a leading quote.
        assert cell == (f"'{value}" if trigger.strip() else value.strip())

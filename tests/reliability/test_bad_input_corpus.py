"""The bad-input corpus: every case runs a real report end to end, and its declared outcome holds.

Each case writes its raw files into a fresh events root and declares what must happen:
- in report: the rows it produces (only the columns named are compared; row count is exact);
- quarantined: (file, line or row, reason substring) of each rejected record, found in the
  quarantine output of both the `timecard report` command and the published pipeline run;
- refused: the command fails in one paragraph naming the file, and nothing is written.
Every case is run twice on the same cache: through the pipeline steps the DAG runs (plan,
condense, build, validate, publish) and through the `timecard report` command. The run summary
on stderr and the published manifest must both carry the case's counts.

Cases asserted end to end elsewhere are not repeated: a corrupt Parquet file
(`tests/timecard/test_cli.py::test_a_corrupt_input_file_is_refused_naming_it`, and on S3 in
`test_s3_end_to_end.py`), a record missing EventId or AgentARN
(`tests/timecard/test_engine.py::test_quarantined_records_travel_with_the_report`). Every
quarantine reason and damaged-file kind is also tested one by one, for Parquet and NDJSON, in
`tests/timecard/test_ingest.py`.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from schemas.columns import REPORT_HEADER
from tests.builders import arn, event, partition_dir, write_ndjson, write_parquet
from timecard import pipeline, storage
from timecard.cli import main
from timecard.errors import UnreadableInputError

DAY = "2026-11-02"
SPEC = pipeline.ReportSpec(slug="corpus", name="Corpus", timezone="UTC", lookback_days=1)
WINDOW = (datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC))
CLI_WINDOW = ["--start", "2026-11-02T00:00:00", "--end", "2026-11-03T00:00:00"]
LONG = 10_000


def at(clock: str) -> str:
    return f"{DAY}T{clock}:00Z"


def shown(clock: str | None) -> str:
    """A time of DAY as the report shows it (in UTC), or empty."""
    return f"{DAY}T{clock}:00+00:00" if clock else ""


_HEADER_BY_KEYWORD = {column.lower().replace(" ", "_"): column for column in REPORT_HEADER}


def row(username: str, login: str | None, logout: str | None, **columns: str) -> dict[str, str]:
    """Expected CSV values by column; other columns are named by keyword (`routing_profile`)."""
    return {"Username": username, "Login time": shown(login), "Logout time": shown(logout)} | {
        _HEADER_BY_KEYWORD[keyword]: value for keyword, value in columns.items()
    }


# A good session in the same file as the bad records: the report still completes around them.
def witness() -> list[dict]:
    return [event("LOGIN", at("08:00"), "witness"), event("LOGOUT", at("09:00"), "witness")]


WITNESS_ROW = row("witness", "08:00", "09:00")
Writer = Callable[[Path], None]


def ndjson(*records: dict, name: str = "case.json", day: str = DAY) -> Writer:
    return lambda root: write_ndjson(root, day, list(records), name=name)


def parquet(*records: dict, name: str = "case.parquet") -> Writer:
    return lambda root: write_parquet(root, DAY, list(records), name=name)


def raw_file(data: bytes, name: str, day: str = DAY) -> Writer:
    return lambda root: Path(partition_dir(str(root), day), name).write_bytes(data)


def parquet_frame(frame: pl.DataFrame, name: str = "case.parquet") -> Writer:
    return lambda root: frame.write_parquet(Path(partition_dir(str(root), DAY), name))


def all_of(*writers: Writer) -> Writer:
    def write(root: Path) -> None:
        for write_one in writers:
            write_one(root)

    return write


def lines(*records: dict | bytes) -> bytes:
    return b"".join(
        (r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in records
    )


def changed(record: dict, path: str, value) -> dict:
    """`record` with the field at a dotted path set to `value`."""
    *parents, leaf = path.split(".")
    target = record
    for name in parents:
        target = target[name]
    target[leaf] = value
    return record


CONFIGURATION = "CurrentAgentSnapshot.Configuration"


@dataclass(frozen=True)
class Case:
    """Raw files and the declared outcome of reporting on them."""

    write: Writer
    rows: tuple[dict[str, str], ...] = (WITNESS_ROW,)  # in report, in CSV order
    quarantined: tuple[tuple[str, int, str], ...] = ()  # (file name, line or row, reason)
    refused: tuple[str, str] | None = None  # (the file named, what the message says about it)
    duplicates: int = 0
    unknown_event_types: int = 0


def _truncated_gzip() -> bytes:
    data = gzip.compress(lines(*witness(), *(event("HEART_BEAT", at("08:30")) for _ in range(50))))
    return data[: len(data) // 2]


def _typed_timestamps(instant, agent: str) -> pl.DataFrame:
    return pl.DataFrame([event("LOGIN", "unused", agent)]).with_columns(EventTimestamp=instant)


def _without_columns(*names: str) -> list[dict]:
    return [
        {key: value for key, value in record.items() if key not in names}
        for record in (event("LOGIN", at("10:00"), "a"), event("LOGOUT", at("11:00"), "a"))
    ]


_NASTY_NAMES = event(
    "LOGIN",
    at("08:00"),
    "nasty",
    username='=HYPERLINK("http://evil.example","x")',
    first_name='Kim, "MJ"',
    last_name="line\nbreak",
    routing_profile="+1 Sales, Inbound",
)
_FIRST_COPY = event("LOGIN", at("08:00"), "dup", username="first-copy", event_id="dup-login")
_SECOND_COPY = event("LOGIN", at("08:05"), "dup", username="second-copy", event_id="dup-login")

CASES: dict[str, Case] = {
    # -- files that cannot be read at all: refused, naming the file ------------------------------
    "truncated gzip NDJSON": Case(
        raw_file(_truncated_gzip(), "stream.json.gz"),
        refused=("stream.json.gz", "is a damaged gzip file"),
    ),
    # -- lines and records that cannot be used: quarantined with file and line --------------------
    "NDJSON line that is not JSON": Case(
        raw_file(lines(witness()[0], b'{"EventId": "cut-off', witness()[1]), "mixed.json"),
        quarantined=(("mixed.json", 2, "record 2 at byte offset"),),
    ),
    "NDJSON line that is not UTF-8": Case(
        raw_file(lines(witness()[0], b'{"EventId": "caf\xe9"}', witness()[1]), "latin1.json"),
        quarantined=(("latin1.json", 2, "is not valid UTF-8"),),
    ),
    "Parquet file without the AgentARN column": Case(
        all_of(parquet(*_without_columns("AgentARN")), ndjson(*witness())),
        quarantined=(
            ("case.parquet", 1, "missing required field(s): AgentARN"),
            ("case.parquet", 2, "missing required field(s): AgentARN"),
        ),
    ),
    "EventTimestamp stored as an integer": Case(
        all_of(
            parquet_frame(_typed_timestamps(pl.lit(1_793_606_400_000), "a")), ndjson(*witness())
        ),
        quarantined=(("case.parquet", 1, "EventTimestamp is stored as Int64"),),
    ),
    "null AgentARN": Case(
        ndjson(*witness(), {**event("LOGIN", at("10:00"), "a"), "AgentARN": None}),
        quarantined=(("case.json", 3, "missing required field(s): AgentARN"),),
    ),
    "timestamp without a zone": Case(
        ndjson(*witness(), event("LOGIN", "2026-11-02T10:00:00", "a")),
        quarantined=(("case.json", 3, "EventTimestamp has no UTC offset"),),
    ),
    "timestamp far in the future": Case(
        ndjson(*witness(), event("LOGIN", "2999-11-02T10:00:00Z", "a")),
        quarantined=(("case.json", 3, "more than a day away from its partition date"),),
    ),
    "timestamp before 2000": Case(
        ndjson(*witness(), event("LOGIN", "1999-12-31T23:59:59Z", "a")),
        quarantined=(("case.json", 3, "more than a day away from its partition date"),),
    ),
    "Parquet timestamp at the 1970 epoch": Case(
        all_of(
            parquet_frame(_typed_timestamps(pl.lit(datetime(1970, 1, 1)), "a")),
            ndjson(*witness()),
        ),
        quarantined=(("case.parquet", 1, "more than a day away from its partition date"),),
    ),
    "timestamp of 10,000 characters": Case(
        ndjson(*witness(), event("LOGIN", "9" * LONG, "a")),
        quarantined=(("case.json", 3, "EventTimestamp is not an ISO-8601 date-time: 999"),),
    ),
    # -- odd but usable records: in the report, as declared ---------------------------------------
    "Parquet file without the CurrentAgentSnapshot column": Case(
        parquet(*_without_columns("CurrentAgentSnapshot")),
        rows=(row("", "10:00", "11:00", first_name="", agent_arn=arn("a")),),
    ),
    "Username stored as a number": Case(
        ndjson(changed(event("LOGIN", at("10:00"), "a"), f"{CONFIGURATION}.Username", 12345)),
        rows=(row("12345", "10:00", None),),
    ),
    "EventType stored as a number": Case(
        ndjson(*witness(), changed(event("LOGIN", at("10:00"), "a"), "EventType", 7)),
        unknown_event_types=1,
    ),
    "null Configuration": Case(
        ndjson(changed(event("LOGIN", at("10:00"), "a"), CONFIGURATION, None)),
        rows=(row("", "10:00", None, routing_profile="", agent_arn=arn("a")),),
    ),
    "AgentHierarchyGroups null, or one level null": Case(
        ndjson(
            event("LOGIN", at("10:00"), "a", hierarchy=None),
            event("LOGIN", at("10:00"), "b", hierarchy=("Americas", None, "Team 3")),
        ),
        rows=(
            row("a", "10:00", None, hierarchy_level_1="", hierarchy_level_2=""),
            row(
                "b",
                "10:00",
                None,
                hierarchy_level_1="Americas",
                hierarchy_level_2="",
                hierarchy_level_3="Team 3",
            ),
        ),
    ),
    "timestamps with non-UTC offsets": Case(
        ndjson(
            event("LOGIN", "2026-11-02T17:15:00+09:00", "a"),
            event("LOGOUT", "2026-11-02T03:45:00.900-05:30", "a"),
        ),
        rows=(row("a", "08:15", "09:15", session_duration="1:00:00"),),
    ),
    "duplicate EventId with different contents": Case(
        all_of(
            ndjson(_FIRST_COPY, event("LOGOUT", at("09:00"), "dup"), name="a.json"),
            ndjson(_SECOND_COPY, name="b.json"),
        ),
        rows=(row("first-copy", "08:00", "09:00"),),
        duplicates=1,
    ),
    "LOGOUT without a LOGIN": Case(
        ndjson(event("LOGOUT", at("09:00"), "a")),
        rows=(row("a", None, "09:00", session_duration=""),),
    ),
    "LOGIN followed by a LOGIN": Case(
        ndjson(
            event("LOGIN", at("08:00"), "a"),
            event("HEART_BEAT", at("08:30"), "a"),
            event("LOGIN", at("10:00"), "a"),
            event("LOGOUT", at("12:00"), "a"),
        ),
        rows=(
            row("a", "08:00", None, last_activity=shown("08:30")),
            row("a", "10:00", "12:00", last_activity="", session_duration="2:00:00"),
        ),
    ),
    "values of 10,000 characters": Case(
        ndjson(
            event(
                "LOGIN",
                at("08:00"),
                "x" * LONG,
                username="u" * LONG,
                routing_profile="r" * LONG,
                hierarchy=("h" * LONG,),
                event_id="e" * LONG,
            )
        ),
        rows=(
            row(
                "u" * LONG,
                "08:00",
                None,
                routing_profile="r" * LONG,
                hierarchy_level_1="h" * LONG,
                agent_arn=arn("x" * LONG),
            ),
        ),
    ),
    "names with quotes, commas, newlines and a leading =": Case(
        ndjson(_NASTY_NAMES),
        rows=(
            row(
                "'" + _NASTY_NAMES["CurrentAgentSnapshot"]["Configuration"]["Username"],
                "08:00",
                None,
                first_name='Kim, "MJ"',
                last_name="line\nbreak",
                routing_profile="'+1 Sales, Inbound",
            ),
        ),
    ),
    "empty partition (empty files only)": Case(
        all_of(
            raw_file(b"", "empty.json", day="2026-11-01"),
            raw_file(b"", "empty-no-magic.json.gz", day="2026-11-01"),
            raw_file(gzip.compress(b""), "empty.json.gz", day="2026-11-01"),
            raw_file(b"", "_SUCCESS", day="2026-11-01"),
            ndjson(*witness()),
        ),
    ),
    "window with activity but no LOGIN or LOGOUT": Case(
        ndjson(
            event("HEART_BEAT", at("08:00"), "idle"), event("STATE_CHANGE", at("08:10"), "idle")
        ),
        rows=(),
    ),
}


def summary_counts(stderr: str) -> dict[str, int]:
    found = re.findall(r"(duplicates|quarantined|unknown event types) ([\d,]+)", stderr)
    return {name.replace(" ", "_"): int(count.replace(",", "")) for name, count in found}


def csv_rows(data: bytes) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""))
    assert tuple(reader.fieldnames) == REPORT_HEADER
    return list(reader)


def quarantine_records(data: bytes) -> list[tuple[str, int, str]]:
    records = [json.loads(line) for line in data.decode("utf-8").splitlines()]
    return [(Path(r["source_file"]).name, r["source_row"], r["reason"]) for r in records]


def assert_rows(actual: list[dict[str, str]], expected: tuple[dict[str, str], ...]) -> None:
    assert len(actual) == len(expected)
    for got, wanted in zip(actual, expected, strict=True):
        assert {column: got[column] for column in wanted} == wanted


def assert_quarantine(data: bytes, expected: tuple[tuple[str, int, str], ...]) -> None:
    records = quarantine_records(data)
    assert len(records) == len(expected)
    for (file, line, reason), (wanted_file, wanted_line, wanted_reason) in zip(
        records, expected, strict=True
    ):
        assert (file, line) == (wanted_file, wanted_line)
        assert wanted_reason in reason


def run_pipeline() -> dict[str, str]:
    """The steps of a scheduled run, as the DAG's tasks call them; returns the published URLs."""
    window_plan = pipeline.plan(SPEC, *WINDOW)
    for day in window_plan.days:
        pipeline.condense(SPEC, day)
    staged = pipeline.build(SPEC, window_plan, "corpus-run")
    pipeline.validate(SPEC, staged)
    pipeline.publish(SPEC, window_plan, staged, "timecard_corpus", "corpus-run")
    return pipeline.output_urls(SPEC, DAY)


@pytest.mark.parametrize("name", CASES)
def test_each_bad_input_has_its_declared_outcome(name, timecard_home, tmp_path, capsys):
    case = CASES[name]
    events_root = timecard_home / "events"
    case.write(events_root)
    cli_csv = tmp_path / "cli" / "report.csv"

    exit_code = main(
        ["report", "--events", str(events_root), *CLI_WINDOW, "--lookback-days", "1"]
        + ["--out", str(cli_csv), "--cache", str(timecard_home / "cache")]
    )
    stderr = capsys.readouterr().err

    if case.refused:
        file_name, what = case.refused
        [named_file] = [str(p) for p in events_root.rglob(file_name)]
        assert exit_code == 1
        assert stderr.startswith("timecard: error: The raw event file ")
        assert f"{named_file} {what}" in stderr and "No report was written" in stderr
        assert "Traceback" not in stderr and stderr.count("\n") == 1
        assert not cli_csv.exists()
        with pytest.raises(UnreadableInputError, match=re.escape(named_file)):
            run_pipeline()
        assert storage.list_files(str(timecard_home / "output" / "connect")) == []
        return

    assert exit_code == 0, stderr
    expected_counts = {
        "duplicates": case.duplicates,
        "quarantined": len(case.quarantined),
        "unknown_event_types": case.unknown_event_types,
    }
    assert summary_counts(stderr) == expected_counts
    cli_report = cli_csv.read_bytes()
    assert_rows(csv_rows(cli_report), case.rows)

    urls = run_pipeline()
    published = storage.read_bytes(urls["csv"])
    assert published == cli_report
    manifest = json.loads(storage.read_bytes(urls["manifest"]))
    assert manifest["rows"] == len(case.rows)
    assert {key: manifest["counts"][key] for key in expected_counts} == expected_counts
    if case.quarantined:
        assert_quarantine(storage.read_bytes(urls["quarantine"]), case.quarantined)
        assert_quarantine(cli_csv.with_suffix(".quarantine.jsonl").read_bytes(), case.quarantined)
        assert manifest["quarantine"] is True
    else:
        assert not storage.exists(urls["quarantine"])
        assert not cli_csv.with_suffix(".quarantine.jsonl").exists()

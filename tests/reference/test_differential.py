"""Differential test: timecard and the independent DuckDB reference must write the same CSV.

Hypothesis generates small agent event streams around a report window and compares the two
reports byte for byte. The streams hold several agents with interleaved LOGIN/LOGOUT and
HEART_BEAT/STATE_CHANGE activity, events at the very same instant (one agent's LOGIN and LOGOUT,
several agents), millisecond timestamps written with various UTC offsets, sessions across the
lookback edge and the window edges, late arrivals (an event of UTC day D stored in partition
D+1), exact duplicates, and attributes with null hierarchy levels and names that need CSV quoting
or the spreadsheet formula guard. Each example writes its files in random shapes (every shape of
`timecard generate-events --shape`: JSON one a line, back to back, pretty or mixed, gzip'd or not,
lower-case keys; Parquet nested, pyarrow-written, or as Firehose converts it with a Glue table)
into a fresh folder, in a layout template drawn for the example (or, unset, a preset per file),
partitioned by arrival time (late records land in the next day) or by event time (none do), and
uses a fresh cache. Windows are 1 to 7 local days (from local midnights) or arbitrary
instants, in time zones with DST changes on the generated days (New York, London, Lord Howe's
half hour) and without (Kolkata, Seoul); lookbacks are 0 to 5 days; filters take values present
in the data and absent ones.

Known, accepted differences that the generated data stays out of:
- Duplicates are exact copies (Kinesis redelivers the same record: same EventId, same content),
  possibly in another file or in the next partition. Which copy of a differing duplicate counts
  is not compared, and timecard keeps the activity of every copy, which is harmless for
  identical copies.
- Records are never more than one day late, so neither reads a record the other does not.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.builders import event, readable_diff
from tests.reference.duckdb_reference import reference_report_csv
from timecard.engine import ReportRequest, build_report
from timecard.errors import NoRawEventsError
from timecard.generate import SHAPES, encode_records
from timecard.landing import parse_layout
from timecard.timerange import checked_range
from transforms.filters import Filters

# Days of each zone the windows are placed around: its DST changes of 2026, where it has any.
ZONE_DAYS = {
    "America/New_York": (date(2026, 3, 8), date(2026, 11, 1)),
    "Europe/London": (date(2026, 3, 29), date(2026, 10, 25)),
    "Australia/Lord_Howe": (date(2026, 4, 5), date(2026, 10, 4)),  # a 30-minute change
    "Asia/Kolkata": (date(2026, 11, 2),),
    "Asia/Seoul": (date(2026, 11, 2),),
}
# LOGIN and LOGOUT twice as often as each activity type; CONTACT_TRANSFER is an unknown type.
EVENT_TYPES = (*("LOGIN", "LOGOUT") * 2, "HEART_BEAT", "STATE_CHANGE", "CONTACT_TRANSFER")
# A layout set for the whole root; None reads the presets, and each file picks one of them.
LAYOUTS = (
    None,
    "clientname=acme/rowdate={date}",
    "dt={date}",
    "year={yyyy}/month={MM}/day={dd}",
    "{yyyy}/{MM}/{dd}/{HH}",
)
PRESETS = ("date", "ymd", "firehose")
# Values that need RFC 4180 quoting, the formula guard, or are otherwise awkward.
NAMES = (
    "Alice",
    "Bob",
    "지민",
    "Zoë",
    "O'Brien",
    'Say "hi"',
    "Doe, Jane",
    "two\nlines",
    "=SUM(A1:A2)",
    "+1",
    "-minus",
    "@at",
    "Sales/EMEA",
    "\tTab",
    " padded ",
    "",
)
ABSENT = "Nobody"  # a filter value no record holds
MILLISECOND = timedelta(milliseconds=1)


@dataclass
class Profile:
    username: str | None
    first_name: str
    last_name: str
    routing_profile: str | None
    hierarchy: tuple[str | None, ...] | None


@dataclass
class RawFile:
    day: date  # the UTC day of the partition it is filed in
    name: str
    shape: str  # one of timecard.generate.SHAPES
    layout: str  # a preset or template
    records: list[dict] = field(default_factory=list)


@dataclass
class Scenario:
    tz: str
    window_start: datetime
    window_end: datetime
    lookback_days: int
    filters: Filters
    files: list[RawFile]
    layout: str | None = None  # as the report is told; None: any preset
    partition_time: str = "arrival"

    def write(self, root: str) -> None:
        os.makedirs(root)  # even when there are no files: an empty root is a valid input
        for raw in self.files:
            write_raw_file(root, raw)


def write_raw_file(root: str, raw: RawFile) -> None:
    """The records as one file of their day's folder, written by the generator's shape writer."""
    # 13:00, so an hour folder exists where the layout has one.
    folder = parse_layout(raw.layout).folder_for(datetime.combine(raw.day, time(13), UTC))
    name = raw.name + (".parquet" if raw.shape.startswith("parquet") else "")  # JSON: none
    records = pl.DataFrame(raw.records, infer_schema_length=None)
    os.makedirs(os.path.join(root, folder), exist_ok=True)
    with open(os.path.join(root, folder, name), "wb") as file:
        file.write(encode_records(records, raw.shape))


def parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def iso_instant(instant: datetime, offset_zone: str) -> str:
    """EventTimestamp text: milliseconds only where there are any, offset as `Z` or numeric."""
    if offset_zone == "Z":
        text = instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    else:
        text = instant.astimezone(ZoneInfo(offset_zone)).isoformat(timespec="milliseconds")
    return text.replace(".000", "")


# -- strategies -----------------------------------------------------------------------------------

names = st.one_of(st.sampled_from(NAMES), st.text(alphabet="ab ,\"'=\n\r\té", max_size=4))
optional_names = st.one_of(st.none(), names)
# How an EventTimestamp spells its offset: mostly `Z`, sometimes numeric.
offsets = st.sampled_from(["Z", "Z", "UTC", "Asia/Kolkata", "America/New_York"])


@st.composite
def profiles(draw) -> Profile:
    hierarchy = draw(
        st.one_of(
            st.none(),
            st.lists(optional_names, min_size=1, max_size=5).map(tuple),
        )
    )
    return Profile(
        username=draw(st.one_of(st.sampled_from(["alice", "bob", "지민", "=cmd"]), optional_names)),
        first_name=draw(names),
        last_name=draw(names),
        routing_profile=draw(st.one_of(st.none(), st.sampled_from(["Basic", "Premium, Night"]))),
        hierarchy=hierarchy,
    )


def record(event_id: str, event_type: str, timestamp: str, agent: str, profile: Profile) -> dict:
    raw = event(
        event_type,
        timestamp,
        agent,
        username=profile.username,
        first_name=profile.first_name,
        last_name=profile.last_name,
        routing_profile=profile.routing_profile,
        hierarchy=profile.hierarchy,
        event_id=event_id,
    )
    # The builder falls back to the agent id for a missing username; keep it missing.
    raw["CurrentAgentSnapshot"]["Configuration"]["Username"] = profile.username
    return raw


@st.composite
def windows(draw) -> tuple[str, datetime, datetime]:
    """A zone and a window of 1 to 7 local days around one of its interesting days."""
    tz = draw(st.sampled_from(sorted(ZONE_DAYS)))
    zone = ZoneInfo(tz)
    first_day = draw(st.sampled_from(ZONE_DAYS[tz])) - timedelta(days=draw(st.integers(0, 2)))
    if draw(st.booleans()):  # from local midnight to local midnight, as the CLI's naive dates
        days = draw(st.integers(1, 7))
        start = datetime.combine(first_day, datetime.min.time(), zone)
        end = datetime.combine(first_day + timedelta(days=days), datetime.min.time(), zone)
    else:  # arbitrary instants, to the millisecond; never more than 7 days on the wall clock
        start = datetime.combine(first_day, datetime.min.time(), UTC) + MILLISECOND * draw(
            st.integers(0, 2 * 86_400_000)
        )
        hours = draw(st.integers(1, 7 * 24 - 1))
        end = start + timedelta(hours=hours) - MILLISECOND * draw(st.integers(0, 3_599_999))
    time_range = checked_range(start, end, tz)
    return tz, time_range.start, time_range.end


def instants_in(start: datetime, end: datetime) -> st.SearchStrategy[datetime]:
    milliseconds = int((end - start) / MILLISECOND)
    return st.integers(0, milliseconds - 1).map(lambda ms: start + MILLISECOND * ms)


@st.composite
def scenarios(draw) -> Scenario:
    tz, window_start, window_end = draw(windows())
    lookback_days = draw(st.integers(0, 5))
    lookback_start = window_start - timedelta(days=lookback_days)

    # Instants events share, so equal timestamps are common: the edges, just before them, and a
    # few more, mostly in the window, else from a day before the lookback to a day after the end.
    edges = [lookback_start, window_start, window_end]
    instants = [*edges, *(edge - MILLISECOND for edge in edges)]
    instants += draw(
        st.lists(
            st.one_of(
                instants_in(window_start, window_end),
                instants_in(window_start, window_end),
                instants_in(lookback_start - timedelta(days=1), window_end + timedelta(days=1)),
            ),
            min_size=2,
            max_size=8,
        )
    )

    agents = {f"a{n}": draw(profiles()) for n in range(1, draw(st.integers(1, 5)) + 1)}
    planned = []  # (agent, event type, instant, snapshot)
    for agent, profile in agents.items():
        for _ in range(draw(st.integers(0, 12))):
            event_type = draw(st.sampled_from(EVENT_TYPES))
            # Sometimes the snapshot differs: attributes must come from the right event.
            snapshot = draw(st.one_of(st.just(profile), st.just(profile), profiles()))
            planned.append((agent, event_type, draw(st.sampled_from(instants)), snapshot))
    # Event ids in random order, so that ties on the instant are broken either way.
    ids = draw(st.permutations(range(len(planned))))
    records = [
        record(f"ev{event_no:03d}", event_type, iso_instant(instant, draw(offsets)), agent, snap)
        for event_no, (agent, event_type, instant, snap) in zip(ids, planned, strict=True)
    ]
    layout = draw(st.sampled_from(LAYOUTS))
    partition_time = draw(st.sampled_from(["arrival", "event"]))
    return Scenario(
        tz,
        window_start,
        window_end,
        lookback_days,
        draw(filter_sets(list(agents.values()))),
        draw(partitioned(records, layout, partition_time)),
        layout,
        partition_time,
    )


@st.composite
def partitioned(
    draw, records: list[dict], layout: str | None, partition_time: str
) -> list[RawFile]:
    """The records, some duplicated, spread over files of their UTC day or, filed by arrival
    time, (late) the next."""
    can_be_late = partition_time == "arrival"
    placed: list[tuple[date, dict]] = []
    for raw in records:
        day = parse_instant(raw["EventTimestamp"]).date()
        late = can_be_late and draw(st.integers(0, 4)) == 0
        placed.append((day + timedelta(days=late), raw))
        if draw(st.integers(0, 5)) == 0:  # a redelivered copy: same partition or the next
            again_late = late or (can_be_late and draw(st.booleans()))
            placed.append((day + timedelta(days=again_late), raw))
    files: dict[tuple[date, int], RawFile] = {}
    for day, raw in draw(st.permutations(placed)):
        file_no = draw(st.integers(0, 1))
        if (day, file_no) not in files:
            shape = draw(st.sampled_from(SHAPES))
            file_layout = layout or draw(st.sampled_from(PRESETS))
            files[day, file_no] = RawFile(day, f"part-{file_no}", shape, file_layout)
        files[day, file_no].records.append(raw)
    return list(files.values())


@st.composite
def filter_sets(draw, agent_profiles: list[Profile]) -> Filters:
    """Filters of up to two kinds, from the values present and sometimes an absent one."""
    # As stored, and as the report shows them (timecard trims edge white space on the way in).
    usernames = {p.username for p in agent_profiles if p.username is not None}
    present = {
        "agents": sorted(usernames | {name.strip() for name in usernames}),
        "routing_profiles": sorted({p.routing_profile or "" for p in agent_profiles} - {""}),
        "hierarchies": sorted({path for p in agent_profiles for path in hierarchy_prefixes(p)}),
    }
    chosen = {}
    for kind in draw(st.lists(st.sampled_from(sorted(present)), unique=True, max_size=2)):
        values = present[kind] or [ABSENT]
        chosen[kind] = draw(st.lists(st.sampled_from(values), min_size=1, max_size=2, unique=True))
        if draw(st.integers(0, 3)) == 3:
            chosen[kind].append(ABSENT)
    return Filters(**{kind: tuple(values) for kind, values in chosen.items()})


def hierarchy_prefixes(profile: Profile) -> list[str]:
    """The `L1/L2/...` filter paths that match the profile: its prefixes up to a level no path
    can name (missing, blank, or holding the separator)."""
    prefixes = []
    for level in profile.hierarchy or ():
        if not (level and level.strip()) or "/" in level:
            break
        prefixes.append("/".join([*(prefixes[-1:]), level.strip()]))
    return prefixes


# -- the comparison -------------------------------------------------------------------------------


def assert_same_report(scenario: Scenario) -> None:
    with tempfile.TemporaryDirectory() as folder:
        events_root, cache_root = f"{folder}/events", f"{folder}/cache"
        scenario.write(events_root)
        time_range = checked_range(scenario.window_start, scenario.window_end, scenario.tz)
        request = ReportRequest(
            events_root,
            time_range,
            scenario.filters,
            lookback_days=scenario.lookback_days,
            layout=scenario.layout,
            partition_time=scenario.partition_time,
        )
        try:
            timecard_csv = build_report(request, cache_root).csv_bytes().decode()
        except NoRawEventsError:
            # No raw file around the window: timecard refuses rather than publish an empty
            # report, so the reference must have found no row either.
            timecard_csv = None
        reference_csv = reference_report_csv(
            events_root,
            scenario.window_start,
            scenario.window_end,
            scenario.tz,
            scenario.lookback_days,
            agents=scenario.filters.agents,
            routing_profiles=scenario.filters.routing_profiles,
            hierarchies=scenario.filters.hierarchies,
            layout=scenario.layout,
            partition_time=scenario.partition_time,
        )
    if timecard_csv is None:
        assert reference_csv.count("\n") == 1, reference_csv
        return
    assert timecard_csv == reference_csv, "\n" + readable_diff(reference_csv, timecard_csv)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenario=scenarios())
def test_timecard_and_the_duckdb_reference_agree(scenario):
    assert_same_report(scenario)


# -- regression cases: each of these once made the two disagree -----------------------------------

NO_FILTERS = Filters()
ALICE = Profile("alice", "Alice", "Kim", "Basic", ("Sales", "Seoul"))


def on_2026_11_02(records: list[dict], filters: Filters = NO_FILTERS) -> Scenario:
    """A report of 2026-11-02 UTC over `records`, each in the NDJSON partition of its UTC date."""
    by_day: dict[date, list[dict]] = {}
    for raw in records:
        by_day.setdefault(parse_instant(raw["EventTimestamp"]).date(), []).append(raw)
    files = [RawFile(day, "part-0", "ndjson", "date", rows) for day, rows in by_day.items()]
    start = datetime(2026, 11, 2, tzinfo=UTC)
    return Scenario("UTC", start, start + timedelta(days=1), 1, filters, files)


def test_empty_texts_show_and_sort_as_unknown():
    """timecard wrote an empty text as `""` and sorted an empty username first but a missing
    one last; both are unknown, an empty field sorted last (fixed in transforms/report.py)."""
    nameless = Profile(None, "Nameless", "", None, None)
    empty = Profile("", "Empty", "", "", ("", "Seoul"))
    assert_same_report(
        on_2026_11_02(
            [
                record("e1", "LOGIN", "2026-11-02T03:00:00Z", "a1", nameless),
                record("e2", "LOGIN", "2026-11-02T01:00:00Z", "a2", empty),
                record("e3", "LOGIN", "2026-11-02T02:00:00Z", "a3", ALICE),
            ]
        )
    )


def test_edge_white_space_is_trimmed():
    """timecard trims edge white space from every text field on the way in, so a leading tab
    never reaches the formula guard; the reference kept it (fixed in duckdb_reference.py)."""
    padded = Profile(" alice\n", "\tTab", "\u00a0Kim ", " Basic", (" Sales ", "Seoul\u3000"))
    assert_same_report(
        on_2026_11_02(
            [record("e1", "LOGIN", "2026-11-02T01:00:00Z", "a1", padded)],
            Filters(agents=("alice",), hierarchies=("Sales/Seoul",)),
        )
    )


def test_sessions_that_tie_on_the_contract_keys():
    """Two sessions of one agent with the same login second and no logout: timecard's order
    depended on the order of its input, the reference's on EventIds. Both now order such ties
    by the remaining columns (fixed in transforms/report.py and duckdb_reference.py)."""
    zoe = Profile("alice", "Zoe", "Kim", "Basic", ("Sales", "Seoul"))
    assert_same_report(
        on_2026_11_02(
            [
                record("e2", "LOGIN", "2026-11-02T01:00:00.100Z", "a1", zoe),
                record("e1", "LOGIN", "2026-11-02T01:00:00.500Z", "a1", ALICE),
            ]
        )
    )

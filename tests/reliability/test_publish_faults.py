"""Publishing under injected faults: a crash or a failure at every storage operation, and two
publishers interleaved at every storage operation, on local disk and on the moto S3 server.

Each case starts from its own copy of a prepared state (output tree and cache), runs one
operation in a forked child with `tests.reliability.faults.Injector`, checks the invariants of
`timecard.publishing` on what the fault left, then runs the operation once more cleanly and
checks that it converged. The number of crash points is the number of storage operations a clean
run performs (asserted), and every one of them is hit (the child's exit code says so).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from unittest import mock

import boto3
import polars as pl
import pytest

from tests.builders import S3_KEY, S3_SECRET, event, stage_report, write_ndjson
from tests.reliability import faults
from timecard import pipeline, publishing, settings, storage

SPEC = pipeline.ReportSpec(
    slug="faulty", name="Faulty", timezone="UTC", prefix="rel", lookback_days=1
)
DAY = "2026-11-02"
WINDOW = (datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC))
COVERAGE: list[str] = []  # one summary line per sweep, printed at the end of the module


def write_events(root: str, late: bool = False) -> None:
    if not late:
        records = [
            event("LOGIN", f"{DAY}T08:00:00Z", "a"),
            event("LOGOUT", f"{DAY}T16:00:00Z", "a"),
            event("LOGIN", f"{DAY}T09:00:00Z", "b"),
        ]
        write_ndjson(root, DAY, records)
    else:
        records = [
            event("LOGOUT", f"{DAY}T17:00:00Z", "b"),
            event("LOGIN", f"{DAY}T10:00:00Z", "c"),
        ]
        write_ndjson(root, DAY, records, name="late.json")


@contextmanager
def environment(env: dict):
    """`env` as the environment timecard's settings read, without touching the process's real
    one: glibc's setenv reallocates the environment array, and a Polars worker thread reading it
    with getenv at that moment dies of SIGSEGV (a whole-environment swap here, per check, did
    that: docs/testing.md). Children get `env` for real: `faults` forks them single-threaded."""
    with mock.patch.object(os, "environ", dict(env)):
        yield


class World:
    """Where one backend's cases live: output roots by case name (local folders or S3
    prefixes), a cache per case, and events shared by all (their fingerprints name paths)."""

    def __init__(self, tmp, backend: str, s3_server: str | None = None, bucket: str | None = None):
        self.tmp, self.backend, self.bucket = tmp, backend, bucket
        self.base_env = dict(os.environ) | {"TIMECARD_HOME": str(tmp / "home")}
        if backend == "s3":
            self.base_env |= {
                "AWS_ENDPOINT_URL": s3_server,
                "AWS_ACCESS_KEY_ID": S3_KEY,
                "AWS_SECRET_ACCESS_KEY": S3_SECRET,
                "AWS_DEFAULT_REGION": "us-east-1",
            }
            self.client = boto3.client(
                "s3",
                endpoint_url=s3_server,
                aws_access_key_id=S3_KEY,
                aws_secret_access_key=S3_SECRET,
                region_name="us-east-1",
            )

    def root(self, case: str) -> str:
        if self.backend == "s3":
            return f"s3://{self.bucket}/{case}"
        return str(self.tmp / case / "output")

    def env(self, case: str, events: str, grace: str = "60") -> dict:
        return self.base_env | {
            "TIMECARD_OUTPUT_ROOT": self.root(case),
            "TIMECARD_CACHE_ROOT": str(self.tmp / case / "cache"),
            "TIMECARD_EVENTS_ROOT": events,
            "TIMECARD_ORPHAN_GRACE_MINUTES": grace,
        }

    def copy(self, source: str, target: str) -> None:
        shutil.copytree(self.tmp / source / "cache", self.tmp / target / "cache")
        if self.backend == "s3":
            listed = self.client.list_objects_v2(Bucket=self.bucket, Prefix=f"{source}/")
            for item in listed.get("Contents", []):
                key = f"{target}/{item['Key'].removeprefix(f'{source}/')}"
                self.client.copy_object(
                    Bucket=self.bucket,
                    Key=key,
                    CopySource={"Bucket": self.bucket, "Key": item["Key"]},
                )
        else:
            shutil.copytree(self.tmp / source / "output", self.tmp / target / "output")

    def moved(self, staged, source: str, target: str):
        return replace(staged, staging=staged.staging.replace(self.root(source), self.root(target)))


def stage(run_id: str) -> tuple[dict, dict]:
    return stage_report(SPEC, WINDOW, run_id)


@dataclass
class Expected:
    before: publishing.Manifest | None  # the committed revision before the operation
    csv_sha256: str  # the CSV the operation publishes
    revision: int


# -- the invariant checker ------------------------------------------------------------------------


def check_invariants(
    world: World, case: str, events: str, expected: Expected, chain: bool = True
) -> None:
    """What any reader may see at any instant: a committed revision, whole (and, with `chain`,
    the revision before the operation or the one after it, naming the one before)."""
    with environment(world.env(case, events)):
        urls = publishing.output_urls(SPEC, DAY)
        manifest = publishing.read_manifest(urls["manifest"])
        before = expected.before
        names = {name for name, _ in storage.list_names(publishing.date_folder(SPEC, DAY))}
        visible = {name for name in names if not name.startswith(("_", "."))}
        public = {url.rsplit("/", 1)[1] for url in urls.values()}
        assert visible <= public, f"{case}: unexpected visible files {visible - public}"
        if before is not None:
            assert manifest is not None, f"{case}: the published revision was retracted"
        if manifest is None:
            assert not visible, f"{case}: files without a manifest: {visible}"
            return
        for kind, file in manifest.files.items():
            data = publishing.read_committed(urls["manifest"], manifest, kind)
            assert hashlib.sha256(data).hexdigest() == file.sha256, f"{case}: {kind} sha256"
            assert len(data) == file.bytes == len(data)
            rows = (
                data.count(b"\n") - 1 if kind == "csv" else pl.read_parquet(io.BytesIO(data)).height
            )
            assert rows == file.rows == manifest.rows, f"{case}: {kind} rows"
        if not chain:
            pass
        elif before is None:
            assert manifest.revision == 1 and manifest.previous_sha256 is None
            assert manifest.first_sha256() == expected.csv_sha256
        elif manifest.revision == before.revision:
            assert manifest.sha256s() == before.sha256s(), f"{case}: same revision, other files"
        else:
            assert manifest.revision == before.revision + 1, f"{case}: revision {manifest.revision}"
            assert manifest.previous_sha256 == before.first_sha256(), f"{case}: broken chain"
            assert manifest.first_sha256() == expected.csv_sha256
        committed = {*manifest.sha256s().values(), *manifest.previous_sha256s.values()}
        for kind in publishing.FORMATS:
            if urls[kind].rsplit("/", 1)[1] in visible:
                digest = hashlib.sha256(storage.read_bytes(urls[kind])).hexdigest()
                assert digest in committed, f"{case}: public {kind} is no committed revision"


def check_converged(
    world: World, case: str, events: str, expected: Expected, chain: bool = True
) -> None:
    """After one clean rerun: the expected revision, public copies current, nothing left over."""
    check_invariants(world, case, events, expected, chain)
    with environment(world.env(case, events)):
        urls = publishing.output_urls(SPEC, DAY)
        manifest = publishing.read_manifest(urls["manifest"])
        assert manifest.revision == expected.revision, case
        assert manifest.first_sha256() == expected.csv_sha256, case
        assert publishing.public_is_current(SPEC, DAY, manifest), f"{case}: stale public copy"
        names = {name for name, _ in storage.list_names(publishing.date_folder(SPEC, DAY))}
        hidden = {name for name in names if name.startswith("_")}
        assert hidden == set(manifest.objects().values()), f"{case}: leftovers {hidden}"
        staging = storage.join(world.root(case), "_staging", SPEC.slug)
        assert storage.list_files(staging) == [], f"{case}: staging left behind"


# -- the sweeps -----------------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    template: str
    events: str
    action: object
    args: object  # case -> the action's arguments
    expected: Expected


def prepare(world: World, kind: str) -> Scenario:
    """The state before the operation, under the case name `kind`, and what it must publish."""
    events = str(world.tmp / f"events-{kind}")
    write_events(events)
    template = f"template-{kind}"
    with environment(world.env(template, events)):
        urls = publishing.output_urls(SPEC, DAY)
        if kind == "first-publish":
            window_plan, staged = stage("run-1")
            with environment(world.env("reference-" + kind, events)):
                pipeline.publish(SPEC, *stage("reference"), "reference", "reference")
                csv = storage.read_bytes(publishing.output_urls(SPEC, DAY)["csv"])
            expected = Expected(None, hashlib.sha256(csv).hexdigest(), 1)
        else:
            pipeline.publish(SPEC, *stage("run-1"), "timecard_faults", "run-1")
            before = publishing.read_manifest(urls["manifest"])
            write_events(events, late=True)
            window_plan, staged = stage("run-2")
            csv = pipeline.data_files(SPEC, staged)["csv"]
            if kind == "late-data-check":
                storage.delete(staged.staging)  # the check builds its own
            expected = Expected(before, hashlib.sha256(csv).hexdigest(), 2)
    if kind == "late-data-check":
        return Scenario(
            kind,
            template,
            events,
            faults.check_action,
            lambda case: (SPEC, DAY, "check-1"),
            expected,
        )
    return Scenario(
        kind,
        template,
        events,
        faults.publish_action,
        lambda case: (SPEC, window_plan, world.moved(staged, template, case), "run-2"),
        expected,
    )


def sweep(world: World, scenario: Scenario, kinds: tuple[str, ...]) -> dict[str, int]:
    """Every fault kind at every storage operation of a clean run of the scenario."""
    clean = f"{scenario.name}-clean"
    world.copy(scenario.template, clean)
    code, message = faults.run(
        world.env(clean, scenario.events), scenario.action, *scenario.args(clean)
    )
    assert code == 0, message
    operations = message[2]
    check_converged(world, clean, scenario.events, scenario.expected)
    covered = {}
    for kind in kinds:
        hit = 0
        for at in range(1, len(operations) + 1):
            case = f"{scenario.name}-{kind}-{at}"
            world.copy(scenario.template, case)
            env = world.env(case, scenario.events)
            code, message = faults.run(env, scenario.action, *scenario.args(case), at=at, kind=kind)
            if kind == faults.CRASH:
                assert code == faults.CRASH_EXIT, f"{case}: op {at} not reached ({code}, {message})"
            else:
                assert code in (0, faults.RAISED_EXIT), f"{case}: {message}"
                assert len(message[2]) >= at, f"{case}: op {at} not reached"
            hit += 1
            check_invariants(world, case, scenario.events, scenario.expected)
            rerun_env = world.env(case, scenario.events, grace="0")
            code, message = faults.run(rerun_env, scenario.action, *scenario.args(case))
            assert code == 0, f"{case}: the clean rerun failed: {message}"
            check_converged(world, case, scenario.events, scenario.expected)
        covered[kind] = hit
    assert all(count == len(operations) > 0 for count in covered.values())
    line = (
        f"{world.backend} {scenario.name}: {len(operations)} storage operations in a clean run; "
        + ", ".join(f"{count} {kind} points" for kind, count in covered.items())
        + f" ({', '.join(sorted(set(operations)))})"
    )
    COVERAGE.append(line)
    print(line)
    return covered


@pytest.fixture(scope="module")
def local_world(tmp_path_factory):
    return World(tmp_path_factory.mktemp("faults-local"), "local")


@pytest.fixture
def s3_world(tmp_path_factory, s3_server, s3_bucket):
    return World(
        tmp_path_factory.mktemp("faults-s3"), "s3", s3_server, s3_bucket.removeprefix("s3://")
    )


SCENARIOS = ("first-publish", "republish", "late-data-check")


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_crash_or_failure_at_every_storage_operation_on_local_disk(local_world, scenario):
    # A raised failure inside the late-data check is caught per window: its crash points cover it.
    kinds = (faults.CRASH,) if scenario == "late-data-check" else (faults.CRASH, faults.RAISE)
    sweep(local_world, prepare(local_world, scenario), kinds)


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_crash_at_every_storage_operation_on_s3(s3_world, scenario):
    sweep(s3_world, prepare(s3_world, scenario), (faults.CRASH,))


# -- two publishers of one window ------------------------------------------------------------------


@dataclass
class Race:
    template: str
    events: str
    runs: dict  # "older" / "newer" -> (window plan, staged, run id)
    csv_sha256: dict  # "older" / "newer" -> sha256 of its CSV


def prepare_race(world: World) -> Race:
    """Two builds of one window, from different inputs: `older` listed before a late file
    landed, `newer` after it. Nothing is published yet."""
    events = str(world.tmp / "events-race")
    write_events(events)
    template = "template-race"
    runs, digests = {}, {}
    with environment(world.env(template, events)):
        for name in ("older", "newer"):
            if name == "newer":
                write_events(events, late=True)
            window_plan, staged = stage(f"run-{name}")
            runs[name] = (window_plan, staged, f"run-{name}")
            digests[name] = hashlib.sha256(pipeline.data_files(SPEC, staged)["csv"]).hexdigest()
    assert digests["older"] != digests["newer"]
    return Race(template, events, runs, digests)


def interleave(world: World, race: Race, paused: str, at: int) -> str:
    """Publisher `paused` stops before its storage operation `at`; the other publishes in full
    (on local disk it waits for the lock if `paused` holds it); then `paused` goes on.
    Returns how the two met."""
    other = "newer" if paused == "older" else "older"
    case = f"race-{world.backend}-{paused}-{at}"
    world.copy(race.template, case)
    env = world.env(case, race.events)

    def args(name):
        window_plan, staged, run_id = race.runs[name]
        return (SPEC, window_plan, world.moved(staged, race.template, case), run_id)

    first = faults.Child(env, faults.publish_action, args(paused), at=at, kind=faults.HANG)
    state, ops, *_ = first.message()
    assert state == "paused", (case, state, ops)
    holds_lock = world.backend == "local" and "exclusive" in ops[:-1]
    kind = faults.PAUSE_AT_LOCK if world.backend == "local" else faults.CRASH
    second = faults.Child(env, faults.publish_action, args(other), kind=kind)
    word = second.message()
    met = "in between"
    if word[0] == "at-lock":
        if holds_lock:  # the second waits for the lock: the first finishes, then the second
            first.go()
            assert first.message()[0] == "done" and first.join() == 0
            second.go()
            met = "serialised by the lock"
        else:
            second.go()
        word = second.message()
    assert word[0] == "done", (case, word)
    assert second.join() == 0
    if first.process.is_alive():
        first.go()
        word = first.message()
        assert word[0] == "done", (case, word)
        assert first.join() == 0
    expected = Expected(None, race.csv_sha256["newer"], 0)
    with environment(env):
        manifest = publishing.read_manifest(publishing.output_urls(SPEC, DAY)["manifest"])
    # The newer inputs win whoever commits last; a revision 2 names the older one it replaced.
    assert manifest.first_sha256() == race.csv_sha256["newer"], case
    if manifest.revision == 2:
        assert manifest.previous_sha256 == race.csv_sha256["older"], case
    else:
        assert manifest.revision == 1 and manifest.previous_sha256 is None, case
    expected = replace(expected, revision=manifest.revision)
    check_converged(world, case, race.events, expected, chain=False)
    return met


def race_everywhere(world: World) -> int:
    race = prepare_race(world)
    counts = {}
    for name in ("older", "newer"):  # each alone, from the same state: its operations
        clean = f"race-{world.backend}-clean-{name}"
        world.copy(race.template, clean)
        window_plan, staged, run_id = race.runs[name]
        moved = world.moved(staged, race.template, clean)
        code, message = faults.run(
            world.env(clean, race.events), faults.publish_action, SPEC, window_plan, moved, run_id
        )
        assert code == 0, message
        counts[name] = len(message[2])
    interleavings = 0
    for paused in ("older", "newer"):
        for at in range(1, counts[paused] + 1):
            interleave(world, race, paused, at)
            interleavings += 1
    assert interleavings == counts["older"] + counts["newer"] > 0
    line = (
        f"{world.backend} two publishers of one window: {interleavings} interleavings "
        f"(each publisher paused before each of its {counts['older']}/{counts['newer']} "
        "storage operations while the other published), each one consistent revision"
    )
    COVERAGE.append(line)
    print(line)
    return interleavings


@pytest.mark.slow
def test_two_publishers_of_one_window_interleaved_at_every_operation_on_local_disk(local_world):
    race_everywhere(local_world)


@pytest.mark.slow
def test_two_publishers_of_one_window_interleaved_at_every_operation_on_s3(s3_world):
    race_everywhere(s3_world)


def test_the_checks_read_their_environment_without_changing_the_process_one(monkeypatch):
    changed = []
    monkeypatch.setattr(os, "putenv", lambda *args: changed.append(("putenv", *args)))
    monkeypatch.setattr(os, "unsetenv", lambda *args: changed.append(("unsetenv", *args)))
    with environment({"TIMECARD_OUTPUT_ROOT": "/somewhere/out", "TIMECARD_HOME": "/h"}):
        assert settings.get_settings().output_root == "/somewhere/out"
        os.environ["TIMECARD_CACHE_ROOT"] = "/somewhere/cache"
        assert settings.get_settings().cache_root == "/somewhere/cache"
    assert "TIMECARD_CACHE_ROOT" not in os.environ
    assert changed == []


def test_the_injector_wraps_every_storage_operation():
    wrapped = faults.operations()
    assert {"write_bytes", "write_if", "read_versioned", "copy", "delete", "exclusive"} <= set(
        wrapped
    )
    assert not {"join", "normalize", "is_s3"} & set(wrapped)


def teardown_module() -> None:
    for line in COVERAGE:
        print(line)

"""timecard/ui/outputs.py, directly: outputs are named by kind, slug and date only, checked before
any storage URL is built, and found through the manifest that committed them."""

from __future__ import annotations

import dataclasses

import pytest

from tests.builders import DAILY_SEOUL, write_definition
from tests.publishing import SEOUL, publish_day, write_day_events
from timecard import storage
from timecard.errors import UsageError
from timecard.pipeline import ADHOC_PREFIX
from timecard.publishing import output_urls
from timecard.ui import outputs

DAY = "2026-11-02"


@pytest.fixture
def published(reports_dir, timecard_home):
    """daily-seoul published for DAY, its definition saved."""
    write_definition(reports_dir, SEOUL.slug, DAILY_SEOUL)
    write_day_events(timecard_home / "events", DAY)
    publish_day(SEOUL, DAY)
    return outputs.OutputRef.parse(outputs.REPORTS, SEOUL.slug, DAY)


@pytest.mark.parametrize(
    ("slug", "day", "problem"),
    [
        ("daily-seoul", "2026-02-30", "'2026-02-30' is not a date"),
        ("daily-seoul", "2026-11-02/../../x", "is not a date"),
        ("daily-seoul", "20261102", "is not a date"),
        ("../secrets", DAY, "../secrets"),
        ("Daily", DAY, "Daily"),
    ],
)
def test_a_bad_address_is_refused_before_any_url_is_built(slug, day, problem):
    with pytest.raises(UsageError) as refusal:
        outputs.OutputRef.parse(outputs.REPORTS, slug, day)
    assert problem in str(refusal.value)


def test_an_address_names_the_files_its_report_published(published):
    definition = outputs.saved_report(SEOUL.slug)
    files = outputs.output_files(published, definition)
    assert files == output_urls(SEOUL, DAY)
    manifest = outputs.read_manifest(files)
    assert outputs.is_output_of(published, manifest)
    csv = outputs.read_csv(files, manifest)
    assert csv == storage.read_bytes(files["csv"])
    assert csv.decode().splitlines()[1].startswith("'=calc,")
    # The folder's published dates: only what a manifest committed.
    assert outputs.published_dates(outputs.folder_of(outputs.REPORTS, definition)) == {
        SEOUL.slug: [DAY]
    }


def test_missing_reports_and_outputs_are_not_found(published):
    with pytest.raises(outputs.OutputNotFound, match="no saved report 'nope'"):
        outputs.saved_report("nope")
    definition = outputs.saved_report(SEOUL.slug)
    other_day = outputs.OutputRef.parse(outputs.REPORTS, SEOUL.slug, "2026-11-03")
    with pytest.raises(outputs.OutputNotFound, match="no published output"):
        outputs.read_manifest(outputs.output_files(other_day, definition))


def test_an_output_published_without_a_csv_has_no_csv_to_read(published):
    publish_day(dataclasses.replace(SEOUL, formats=("parquet",)), DAY)
    files = outputs.output_files(published, outputs.saved_report(SEOUL.slug))
    with pytest.raises(outputs.OutputNotFound, match="without a CSV"):
        outputs.read_csv(files)


def test_a_saved_reports_output_in_the_adhoc_folder_is_not_an_adhoc_output(timecard_home):
    # A report whose prefix routed it into the ad hoc folder (refused since; files remain).
    stray = dataclasses.replace(SEOUL, slug="stray", prefix=ADHOC_PREFIX)
    write_day_events(timecard_home / "events", DAY)
    publish_day(stray, DAY)
    ref = outputs.OutputRef.parse(outputs.ADHOC, "stray", DAY)
    manifest = outputs.read_manifest(outputs.output_files(ref, None))
    assert not outputs.is_output_of(ref, manifest)
    assert outputs.published_dates(outputs.folder_of(outputs.ADHOC)) == {"stray": [DAY]}
    assert outputs.adhoc_outputs() == []

"""Published outputs, addressed by kind, slug and date only: never by a storage path.

A client names an output as `reports/<slug>/<date>` (a saved report) or `adhoc/<id>/<date>` (an
ad hoc run's output, by the short id derived from its run: `publishing.adhoc_output_id`).
The slug must match the saved-report slug pattern and the date must be a real calendar date,
both checked before any storage URL is built; the URL itself comes from
`publishing.day_urls`, the same function that published the file. No client text reaches
storage in any other way, so a path that climbs out of the output tree cannot be expressed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from timecard import publishing, storage
from timecard.definitions import ReportDefinition, check_slug, definition_path, load_definition
from timecard.errors import UsageError
from timecard.publishing import ADHOC_PREFIX, MANIFEST_SUFFIX, Manifest, day_urls, prefix_folder
from timecard.settings import get_settings

REPORTS, ADHOC = "reports", "adhoc"
KINDS = (REPORTS, ADHOC)
# `date=<D>/<slug>-<D>_manifest.json` directly in a report's folder: the published outputs.
_MANIFEST_PATH = re.compile(
    r"date=(?P<date>\d{4}-\d{2}-\d{2})/(?P<slug>[a-z0-9][a-z0-9_-]{0,63})-(?P=date)"
    + re.escape(MANIFEST_SUFFIX)
)


class OutputNotFound(LookupError):
    """The report or the output does not exist (shown as a 404 page)."""


@dataclass(frozen=True)
class OutputRef:
    kind: str
    slug: str
    date: str

    @classmethod
    def parse(cls, kind: str, slug: str, day: str) -> OutputRef:
        return cls(kind, check_slug(slug), checked_date(day))


def checked_date(text: str) -> str:
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    raise UsageError(f"{text[:40]!r} is not a date; outputs are named by a date like 2026-11-02.")


def saved_report(slug: str) -> ReportDefinition:
    """The saved report `slug`: OutputNotFound without its file, DefinitionError if broken."""
    path = definition_path(get_settings().reports_dir, slug)
    if not path.is_file():
        raise OutputNotFound(f"There is no saved report {slug!r}.")
    return load_definition(path)


def _prefix(kind: str, definition: ReportDefinition | None) -> str | None:
    """The delivery prefix of a kind's outputs: the ad hoc folder's, else the saved report's."""
    if kind == ADHOC:
        return ADHOC_PREFIX
    if definition is None:
        raise ValueError("a saved report's outputs are placed by its definition")
    return definition.prefix


def folder_of(kind: str, definition: ReportDefinition | None = None) -> str:
    """The delivery folder whose `date=` partitions hold the outputs of a kind (and report)."""
    return prefix_folder(_prefix(kind, definition))


def output_files(ref: OutputRef, definition: ReportDefinition | None) -> dict[str, str]:
    return day_urls(ref.slug, _prefix(ref.kind, definition), ref.date)


def read_manifest(files: dict[str, str]) -> Manifest:
    manifest = publishing.read_manifest(files["manifest"])
    if manifest is None:
        raise OutputNotFound("There is no published output for this report and date.")
    return manifest


def read_csv(files: dict[str, str], manifest: Manifest | None = None) -> bytes:
    """The CSV of the committed revision: the one its manifest names, whatever a publish in
    progress is doing to the public copy."""
    manifest = manifest or read_manifest(files)
    if "csv" not in manifest.files:
        raise OutputNotFound("This output was published without a CSV.")
    try:
        return publishing.read_committed(files["manifest"], manifest, "csv")
    except FileNotFoundError:
        raise OutputNotFound("The CSV of this output is missing.") from None


def is_output_of(ref: OutputRef, manifest: Manifest) -> bool:
    """Whether the manifest found at an address records the output that address names: the
    same report (the ad hoc DAG for `adhoc/`, else the saved report of the slug) and slug.
    Anything else, such as a saved report's output in the ad hoc folder, is not found there."""
    from timecard.ui.access import ADHOC_DAG_ID, output_dag_id, report_dag_id

    owner = ADHOC_DAG_ID if ref.kind == ADHOC else report_dag_id(ref.slug)
    return output_dag_id(manifest) == owner and manifest.report.slug == ref.slug


def published_dates(folder: str) -> dict[str, list[str]]:
    """Slug → the dates with a published output in `folder`, newest first.

    Only the manifest counts: it is the commit point of a publish, so it names whole files.
    Files deeper down (another report's prefix below this one) are not this folder's outputs.
    """
    base = storage.join(folder, "")
    dates: dict[str, list[str]] = {}
    for file in storage.list_files(folder):
        if match := _MANIFEST_PATH.fullmatch(file.url.removeprefix(base)):
            dates.setdefault(match["slug"], []).append(match["date"])
    return {slug: sorted(found, reverse=True) for slug, found in dates.items()}


def adhoc_outputs() -> list[dict]:
    """Every published ad hoc output with what the ad hoc list shows, newest request first:
    `id`, `date` and the manifest's report name, window, filters and who requested it when."""
    found = []
    folder = folder_of(ADHOC)
    for output_id, days in published_dates(folder).items():
        for day in days:
            ref = OutputRef(ADHOC, output_id, day)
            try:
                manifest = read_manifest(output_files(ref, None))
            except OutputNotFound:
                continue  # removed between the listing and this read
            if not is_output_of(ref, manifest):
                continue  # a saved report's output in the ad hoc folder: not for this list
            requested = manifest.requested or publishing.Requested(None, None)
            found.append(
                {
                    "id": output_id,
                    "date": day,
                    "name": manifest.report.name,
                    "window": manifest.window,
                    "filters": manifest.filters,
                    "by": requested.by,
                    "at": requested.at,
                }
            )
    return sorted(found, key=lambda o: (o["at"] or "", o["date"]), reverse=True)

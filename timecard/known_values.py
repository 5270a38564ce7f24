"""The filter values the data holds, for the filter pickers: from the condensed attributes.

The api-server never reads raw events: it reads the `attributes` parts the report runs have
already condensed (names, routing profile and hierarchy of every LOGIN/LOGOUT event), through
`timecard.storage`. A part counts once its marker (`attributes.json`) exists, as for a run.
Only the most recent condensed days are read, so the Generate page stays quick on a cache that
holds years: the people and teams of the last two months are the ones a report is run for.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from timecard import storage
from timecard.settings import get_settings

_MARKER = "/attributes.json"
RECENT_DAYS = 62
# <cache base>/<YYYY-MM-DD>/<fingerprint>/attributes.json
_PART = re.compile(r"/(?P<day>\d{4}-\d{2}-\d{2})/[^/]+/attributes\.json$")


def known_filter_values() -> dict[str, list[str]]:
    """Kind (agents, routing_profiles, hierarchies) → the sorted values found in the data."""
    import polars as pl

    from timecard.condensed import DayCache
    from timecard.engine import landing_for
    from transforms.filters import FILTER_COLUMNS, HIERARCHY_COLUMNS, known_values

    # The landing an ad hoc run reads (the environment's layout and partition clock): its
    # condensed days are the ones Generate's runs build and reuse.
    settings = get_settings()
    landing = landing_for(settings.events_root, settings.events_layout, settings.partition_time)
    base = DayCache(landing, settings.cache_root).base
    markers = {
        file.url: date.fromisoformat(match["day"])
        for file in storage.list_files(base)
        if (match := _PART.search(file.url))
    }
    newest = max(markers.values(), default=None)
    parts = [
        url.removesuffix(_MARKER) + "/attributes.parquet"
        for url, day in markers.items()
        if newest and day > newest - timedelta(days=RECENT_DAYS)
    ]
    columns = [*FILTER_COLUMNS.values(), *HIERARCHY_COLUMNS]
    frames = [storage.read_parquet(url).select(columns) for url in parts]
    empty = pl.DataFrame(schema={column: pl.String for column in columns})
    return known_values(pl.concat([empty, *frames]))

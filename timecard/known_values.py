"""The filter values the data holds, for the filter pickers: from the condensed attributes.

The api-server never reads raw events: it reads the `attributes` parts the report runs have
already condensed (names, routing profile and hierarchy of every LOGIN/LOGOUT event), through
`timecard.storage`. A part counts once its marker (`attributes.json`) exists, as for a run.
"""

from __future__ import annotations

from timecard import storage
from timecard.settings import get_settings

_MARKER = "/attributes.json"


def known_filter_values() -> dict[str, list[str]]:
    """Kind (agents, routing_profiles, hierarchies) → the sorted values found in the data."""
    import polars as pl

    from timecard.condensed import DayCache
    from transforms.filters import FILTER_COLUMNS, HIERARCHY_COLUMNS, known_values

    settings = get_settings()
    base = DayCache(settings.events_root, settings.cache_root).base
    parts = [
        file.url.removesuffix(_MARKER) + "/attributes.parquet"
        for file in storage.list_files(base)
        if file.url.endswith(_MARKER)
    ]
    columns = [*FILTER_COLUMNS.values(), *HIERARCHY_COLUMNS]
    frames = [storage.read_parquet(url).select(columns) for url in parts]
    empty = pl.DataFrame(schema={column: pl.String for column in columns})
    return known_values(pl.concat([empty, *frames]))

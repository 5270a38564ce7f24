"""The charts' time axis: every label stays inside the chart."""

import re
from datetime import UTC, datetime

from timecard.ui import charts


def test_the_last_axis_label_ends_at_its_tick_so_it_is_not_clipped():
    # A New York day: the last tick sits on the right edge of the axis.
    window = charts.Window(
        datetime(2026, 11, 2, 5, tzinfo=UTC),
        datetime(2026, 11, 3, 5, tzinfo=UTC),
        "America/New_York",
    )
    svg = str(charts.logged_in_chart([], window))
    found = re.findall(r'<text class="axis" x="([\d.]+)" y="[\d.]+" text-anchor="(\w+)">', svg)
    right = charts.WIDTH - charts.RIGHT
    labels = [(x, anchor) for x, anchor in found if float(x) >= charts.LEFT]  # not the counts
    assert float(labels[-1][0]) == right and labels[-1][1] == "end"
    assert all(anchor == "middle" for x, anchor in labels if float(x) < right - 24)

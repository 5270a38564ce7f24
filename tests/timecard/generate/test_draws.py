"""timecard.generate.draws: per-event randomness depends on keys or positions, never on batches."""

from __future__ import annotations

import polars as pl

from timecard.generate.draws import Draws, by_position, by_position_expr


def test_draws_depend_on_the_key_and_purpose_not_on_the_rows_around_it():
    draws = Draws(4)
    keys = pl.DataFrame({"key": pl.Series(range(1000), dtype=pl.UInt64)})
    whole = keys.select(draws.uniform(pl.col("key"), "x"))["key"]
    part = keys.slice(500).select(draws.uniform(pl.col("key"), "x"))["key"]
    assert part.to_list() == whole.slice(500).to_list()
    other = keys.select(draws.uniform(pl.col("key"), "y"))["key"]
    assert other.to_list() != whole.to_list()
    assert whole.min() >= 0 and whole.max() < 1


def test_between_stays_within_its_bounds():
    keys = pl.DataFrame({"key": pl.Series(range(5000), dtype=pl.UInt64)})
    values = keys.select(Draws(1).between(pl.col("key"), "delay", (200, 4000)).alias("v"))["v"]
    assert values.min() >= 200 and values.max() < 4000
    assert values.n_unique() > 1000


def test_choices_by_position_continue_from_an_offset():
    whole = by_position(100, 3, "mixed")
    assert by_position(40, 3, "mixed", offset=60) == whole[60:]
    assert set(whole) == {0, 1, 2}
    frame = pl.DataFrame({"row": range(10)})
    assert frame.select(by_position_expr(3, "mixed").alias("c"))["c"].to_list() == whole[:10]

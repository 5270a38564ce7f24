"""bench/widen.py: copies of a landing with other agents and other EventIds, nothing else."""

from __future__ import annotations

import os
from datetime import date

import polars as pl
import pytest

from bench.widen import main, widened
from timecard.generate import generate_events


def test_each_copy_holds_new_agents_and_new_ids_and_the_same_records(tmp_path):
    source, target = str(tmp_path / "small"), str(tmp_path / "wide")
    generate_events(source, agents=3, start=date(2026, 10, 1), days=1, shape="parquet-pyarrow")
    files = sum(len(names) for _, _, names in os.walk(source))

    assert widened(source, target, 3) == 3 * files
    original = pl.read_parquet(os.path.join(source, "**", "*.parquet"))
    wide = pl.read_parquet(os.path.join(target, "**", "*.parquet"))
    assert wide.height == 3 * original.height
    assert wide["EventId"].n_unique() == 3 * original["EventId"].n_unique()
    assert wide["AgentARN"].n_unique() == 3 * original["AgentARN"].n_unique()
    assert wide["AgentARN"].str.contains("/agent/c2-").any()
    # Copy 0 is the source's records, renamed: the same ids after its prefix, the same types.
    first_copy = wide.filter(pl.col("EventId").str.starts_with("c0-"))
    assert sorted(first_copy["EventId"].str.strip_prefix("c0-")) == sorted(original["EventId"])
    by_type = lambda frame: frame["EventType"].value_counts().sort("EventType")  # noqa: E731
    assert by_type(first_copy).equals(by_type(original))


def test_the_command_refuses_a_missing_source(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main([str(tmp_path / "nowhere"), str(tmp_path / "out"), "--copies", "2"])
    assert "is not a folder of Parquet files" in capsys.readouterr().err

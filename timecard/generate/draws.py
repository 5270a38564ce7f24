"""Per-event randomness: a stable event key hashed with a seed per purpose, so nothing depends on
the order (or the batches) in which events are made. Polars guarantees its hash within one
version only, which the pinned requirements fix."""

from __future__ import annotations

import random
from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Draws:
    seed: int

    def bits(self, key: pl.Expr, purpose: str) -> pl.Expr:
        return key.hash(seed=random.Random(f"{self.seed}/{purpose}").getrandbits(63))

    def uniform(self, key: pl.Expr, purpose: str) -> pl.Expr:
        """A float in [0, 1) from the top 53 bits."""
        return (self.bits(key, purpose) // (1 << 11)).cast(pl.Float64) / (1 << 53)

    def between(self, key: pl.Expr, purpose: str, bounds: tuple[int, int]) -> pl.Expr:
        low, high = bounds
        return low + (self.uniform(key, purpose) * (high - low)).cast(pl.Int64)


def by_position_expr(choices: int, purpose: str, offset: int = 0) -> pl.Expr:
    """A choice per row from its position in a file; `offset` is the position of the first row,
    so a file made in batches gets the choices it would get made at once."""
    seed = random.Random(purpose).getrandbits(63)
    return pl.int_range(offset, offset + pl.len(), dtype=pl.UInt64).hash(seed) % choices


def by_position(count: int, choices: int, purpose: str, offset: int = 0) -> list[int]:
    frame = pl.DataFrame({"row": pl.zeros(count, dtype=pl.UInt8, eager=True)})
    choice = by_position_expr(choices, purpose, offset).alias("choice")
    return frame.select(choice)["choice"].to_list()

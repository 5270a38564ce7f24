"""Report filters: which rows of the report a user wants to see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

HIERARCHY_SEPARATOR = "/"


@dataclass(frozen=True)
class Filters:
    """Values of one kind are ORed; different kinds are ANDed. Empty means no filter."""

    agents: tuple[str, ...] = ()
    routing_profiles: tuple[str, ...] = ()
    # Each entry is a path prefix of hierarchy level names: "Americas/Sales" matches rows whose
    # level 1 is "Americas" and level 2 is "Sales", whatever their deeper levels are.
    hierarchies: tuple[str, ...] = ()

    def __post_init__(self):
        # Values are trimmed, as the attributes they match are: " Sales " means "Sales". A
        # hierarchy path is trimmed level by level: " Americas / Sales " is "Americas/Sales".
        def trimmed(values, tidy) -> tuple:
            return tuple(tidy(value) if isinstance(value, str) else value for value in values)

        object.__setattr__(self, "agents", trimmed(self.agents, str.strip))
        object.__setattr__(self, "routing_profiles", trimmed(self.routing_profiles, str.strip))
        object.__setattr__(
            self,
            "hierarchies",
            trimmed(
                self.hierarchies, lambda path: HIERARCHY_SEPARATOR.join(hierarchy_levels(path))
            ),
        )

    def is_empty(self) -> bool:
        return not (self.agents or self.routing_profiles or self.hierarchies)

    def describe(self) -> str:
        """One line for people: 'routing profiles: Billing, Sales · agents: b', or 'none'."""
        kinds = (
            ("agents", self.agents),
            ("routing profiles", self.routing_profiles),
            ("hierarchies", self.hierarchies),
        )
        return " · ".join(f"{kind}: {', '.join(v)}" for kind, v in kinds if v) or "none"

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "agents": list(self.agents),
            "routing_profiles": list(self.routing_profiles),
            "hierarchies": list(self.hierarchies),
        }


def hierarchy_levels(path: str) -> list[str]:
    return [level.strip() for level in path.split(HIERARCHY_SEPARATOR) if level.strip()]


def filter_expression(filters: Filters) -> pl.Expr:
    """A boolean expression over session columns (username, routing_profile, hierarchy_1..5)."""
    # Imported here so that saved-report definitions (and so DAG parsing) stay free of Polars.
    import polars as pl

    conditions = [pl.lit(True)]
    if filters.agents:
        conditions.append(pl.col("username").is_in(list(filters.agents)))
    if filters.routing_profiles:
        conditions.append(pl.col("routing_profile").is_in(list(filters.routing_profiles)))
    if filters.hierarchies:
        paths = []
        for path in filters.hierarchies:
            levels = hierarchy_levels(path)
            paths.append(
                pl.all_horizontal(
                    [pl.col(f"hierarchy_{i}") == name for i, name in enumerate(levels, start=1)]
                ).fill_null(False)
            )
        conditions.append(pl.any_horizontal(paths))
    return pl.all_horizontal(conditions)


# -- the values a filter can take, and the closest ones to a value that matches nothing --------

FILTER_COLUMNS = {"agents": "username", "routing_profiles": "routing_profile"}
HIERARCHY_COLUMNS = tuple(f"hierarchy_{level}" for level in range(1, 6))
SUGGESTIONS = 10


def known_values(frame: pl.DataFrame) -> dict[str, list[str]]:
    """The values each filter kind can match in `frame` (session or attribute rows), sorted:
    usernames, routing profiles, and every hierarchy path prefix ('Americas', 'Americas/Sales')."""
    import polars as pl

    values = {
        kind: sorted(frame[column].drop_nulls().unique().to_list())
        for kind, column in FILTER_COLUMNS.items()
    }
    paths: set[str] = set()
    for row in frame.select(pl.col(HIERARCHY_COLUMNS)).unique().iter_rows():
        levels = []
        for name in row:
            if name is None:
                break
            levels.append(name)
            paths.add(HIERARCHY_SEPARATOR.join(levels))
    values["hierarchies"] = sorted(paths)
    return values


def unmatched(filters: Filters, known: dict[str, list[str]]) -> dict[str, dict[str, list[str]]]:
    """Kind → each filter value that matches no known value → up to 10 closest known values,
    most similar first (letter case ignored)."""
    found: dict[str, dict[str, list[str]]] = {}
    for kind, wanted in filters.as_dict().items():
        for value in wanted:
            if kind == "hierarchies":
                value = HIERARCHY_SEPARATOR.join(hierarchy_levels(value))
            if value not in known[kind]:
                found.setdefault(kind, {})[value] = closest(value, known[kind])
    return found


def closest(value: str, candidates: list[str], limit: int = SUGGESTIONS) -> list[str]:
    from difflib import SequenceMatcher

    def similarity(candidate: str) -> float:
        return SequenceMatcher(None, value.casefold(), candidate.casefold()).ratio()

    return sorted(candidates, key=lambda candidate: (-similarity(candidate), candidate))[:limit]

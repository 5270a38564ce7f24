"""The one place Pandera is imported, without the Hypothesis import it does not need here.

Pandera's validation backends import `pandera.strategies`, which imports Hypothesis when it is
installed (it is, in the development and test environments) only to offer data synthesis;
timecard never synthesizes data, and that import, with Hypothesis' plugins, takes about 0.4 s of
every command that validates a frame. So Pandera's strategies module is imported once with
Hypothesis hidden, then Hypothesis is importable again as usual. Where Hypothesis was imported
before (a test session), nothing is hidden and Pandera's strategies work as usual.
"""

import sys

if "hypothesis" not in sys.modules:
    sys.modules["hypothesis"] = None  # type: ignore[assignment]  # makes `import hypothesis` fail
    try:
        import pandera.strategies.base_strategies  # noqa: F401 - imported now, with no Hypothesis
    finally:
        del sys.modules["hypothesis"]

import pandera.polars as pa  # noqa: E402
from pandera.errors import SchemaError, SchemaErrors  # noqa: E402

__all__ = ["SchemaError", "SchemaErrors", "pa"]

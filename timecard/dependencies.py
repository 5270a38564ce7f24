"""The heavy dependencies the library uses only on some paths, imported lazily, in one place.

`timecard report --help` and a DAG file's parse import none of them; the path that needs one
pays for it on first use (the pattern of Polars' own `polars.dependencies`):

- `pyarrow`, `pyarrow_parquet`, `pyarrow_compute`: nested Parquet as Firehose and Glue write it;
- `igzip_lib` (isal): gzip about twice as fast as zlib, for gzipped JSON;
- `s3fs`: S3 storage, only for `s3://` roots;
- `psutil`: the process tree of `make ui`'s local Airflow;
- `aws_base_hook()`: Airflow's Amazon provider, only when TIMECARD_AWS_CONN_ID names an Airflow
  connection. This is the one way the engine layer may reach Airflow (the import contract in
  pyproject.toml allows exactly `timecard.dependencies -> airflow`).

A lazy module is a stand-in that imports the real one on its first attribute access; the type
checker sees the real modules.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING


class _LazyModule(ModuleType):
    """A module imported on first attribute access, then indistinguishable from it."""

    def __getattr__(self, attribute: str) -> object:
        module = importlib.import_module(self.__name__)
        self.__dict__.update(module.__dict__)
        return getattr(module, attribute)


if TYPE_CHECKING:
    import isal.igzip_lib as igzip_lib
    import psutil
    import pyarrow
    import pyarrow.compute as pyarrow_compute
    import pyarrow.parquet as pyarrow_parquet
    import s3fs
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
else:
    igzip_lib = _LazyModule("isal.igzip_lib")
    psutil = _LazyModule("psutil")
    pyarrow = _LazyModule("pyarrow")
    pyarrow_compute = _LazyModule("pyarrow.compute")
    pyarrow_parquet = _LazyModule("pyarrow.parquet")
    s3fs = _LazyModule("s3fs")


def aws_base_hook() -> type[AwsBaseHook]:
    """The Amazon provider's hook, which resolves an Airflow AWS connection as Airflow does."""
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    return AwsBaseHook


__all__ = [
    "aws_base_hook",
    "igzip_lib",
    "psutil",
    "pyarrow",
    "pyarrow_compute",
    "pyarrow_parquet",
    "s3fs",
]

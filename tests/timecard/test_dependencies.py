"""timecard.dependencies: optional heavy modules, imported on first use and not before."""

import subprocess
import sys

from timecard import dependencies

HEAVY = ("airflow", "pyarrow", "isal", "psutil", "s3fs")


def _loaded_after(code: str) -> list[str]:
    probe = (
        f"import sys\n{code}\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return eval(result.stdout)  # noqa: S307 - our own probe's printed list


def test_importing_the_module_imports_none_of_them():
    assert _loaded_after("import timecard.dependencies") == []


def test_a_lazy_module_imports_its_module_on_first_use_only():
    assert _loaded_after("from timecard.dependencies import psutil, pyarrow\npsutil.Process") == [
        "psutil"
    ]


def test_a_lazy_module_then_behaves_as_the_module():
    import pyarrow.parquet

    assert dependencies.pyarrow_parquet.ParquetFile is pyarrow.parquet.ParquetFile
    assert dependencies.igzip_lib.IgzipDecompressor is not None
    assert dependencies.pyarrow_parquet.__name__ == "pyarrow.parquet"


def test_the_aws_hook_is_the_amazon_providers():
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    assert dependencies.aws_base_hook() is AwsBaseHook

"""Surfaces broken saved-report definitions as an Airflow import error.

`timecard_reports.py` skips a definition that does not load, so the other reports keep running.
This file fails to import while any definition is broken, so the Airflow UI's import errors
name each broken file and its problems. It defines no DAG.
"""

from timecard.definitions import load_all
from timecard.settings import get_settings

_, broken = load_all(get_settings().reports_dir)
if broken:
    raise ValueError(
        f"{len(broken)} saved report definition(s) could not be loaded and are not scheduled: "
        + " | ".join(str(error) for error in broken)
    )

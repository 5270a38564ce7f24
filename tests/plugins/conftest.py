"""Point Airflow at a throwaway home and at this repo's plugins folder before Airflow is imported.

Airflow reads AIRFLOW_HOME and the plugins folder once, at import, and finds custom timetables
only through the plugins it loaded from that folder, so this must run before any `airflow` import.
"""

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

PLUGINS_FOLDER = Path(__file__).resolve().parents[2] / "plugins"

if "airflow" not in sys.modules:
    airflow_home = tempfile.mkdtemp(prefix="timecard-airflow-home-")
    atexit.register(shutil.rmtree, airflow_home, ignore_errors=True)
    os.environ["AIRFLOW_HOME"] = airflow_home
    os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(PLUGINS_FOLDER)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"

from airflow import plugins_manager, settings  # noqa: E402  (needs the environment above)

if Path(settings.PLUGINS_FOLDER).resolve() != PLUGINS_FOLDER:
    raise RuntimeError(
        f"Airflow was imported earlier in this test session with plugins folder "
        f"{settings.PLUGINS_FOLDER}, so the timecard timetable plugin in {PLUGINS_FOLDER} cannot "
        "be registered. Set AIRFLOW__CORE__PLUGINS_FOLDER to that folder wherever Airflow is "
        "first imported."
    )

# Load the plugin the way the scheduler does, so `import timecard_timetable` in the tests gets
# the registered module rather than a second copy of it.
plugins_manager.ensure_plugins_loaded()

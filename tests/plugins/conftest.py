"""Load the timetable plugin the way the scheduler does (tests/conftest.py configured Airflow)."""

from pathlib import Path

from airflow import plugins_manager, settings

PLUGINS_FOLDER = Path(__file__).resolve().parents[2] / "plugins"

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

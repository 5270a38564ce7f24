"""Airflow plugin: the "Login/Logout reports" pages in the Airflow UI (app code in `timecard.ui`).

The api-server mounts the app under `/timecard`; the navigation entry shows it inside the
Airflow UI at `/plugin/login-logout-reports/...`. Airflow does not authenticate plugin apps:
every route of the app checks the user and their DAG access itself (`timecard.ui.access`).
"""

from functools import cached_property
from urllib.parse import urlsplit

from airflow.configuration import conf
from airflow.plugins_manager import AirflowPlugin

from timecard.ui import NAV_LABEL, NAV_NAME, URL_PREFIX, URL_ROUTE

# The api-server's own path prefix (`[api] base_url`), so the entry also works below a subpath.
_ROOT = urlsplit(conf.get("api", "base_url", fallback="")).path.rstrip("/")


class TimecardUiPlugin(AirflowPlugin):
    name = "timecard_ui"
    external_views = [
        {
            "name": NAV_LABEL,
            "href": f"{_ROOT}{URL_PREFIX}/",
            "url_route": URL_ROUTE,
            "destination": "nav",
            "nav_top_level": True,
        }
    ]

    @cached_property
    def fastapi_apps(self) -> list[dict]:
        # Built on first use: only the api-server reads it. The scheduler, the dag-processor
        # and task processes load this file too and must not pay for the web imports.
        from timecard.ui.app import create_app

        return [{"app": create_app(), "url_prefix": URL_PREFIX, "name": NAV_NAME}]

"""plugins/timecard_ui.py: the reports app mounted on the api-server under /timecard, and its
navigation entry, as Airflow's plugin manager loads them (tests/plugins/conftest.py loads the
plugins folder the way every Airflow process does)."""

from __future__ import annotations

from airflow import plugins_manager

from timecard.ui import NAV_LABEL, NAV_NAME, URL_PREFIX, URL_ROUTE


def test_the_plugin_adds_one_navigation_entry_to_the_reports_pages():
    [plugin] = [p for p in plugins_manager._get_plugins()[0] if p.name == "timecard_ui"]
    assert plugin.external_views == [
        {
            "name": NAV_LABEL,
            "href": f"{URL_PREFIX}/",  # the api-server's base_url has no path in the tests
            "url_route": URL_ROUTE,
            "destination": "nav",
            "nav_top_level": True,
        }
    ]
    assert URL_PREFIX == "/timecard" and URL_ROUTE == "login-logout-reports"


def test_the_api_server_mounts_the_reports_app_under_its_prefix():
    apps, _ = plugins_manager.get_fastapi_plugins()
    [mounted] = [app for app in apps if app["name"] == NAV_NAME]
    assert mounted["url_prefix"] == URL_PREFIX
    paths = {route.path for route in mounted["app"].routes}
    assert {"/", "/generate", "/{kind}/{slug}"} <= paths, sorted(paths)

"""The Login/Logout reports pages inside the Airflow UI.

`plugins/timecard_ui.py` mounts the FastAPI app of `timecard.ui.app` on the api-server under
`URL_PREFIX` and adds a navigation entry that shows it in the Airflow UI (an iframe at
`/plugin/<URL_ROUTE>/...`). Pages are server-rendered HTML with server-rendered SVG charts and
one small script served by the app itself: nothing is loaded from the internet.

This package is imported by the plugin file in every Airflow process that loads plugins, so this
module imports nothing: the web modules are imported only when the api-server builds the app.
"""

URL_PREFIX = "/timecard"
URL_ROUTE = "login-logout-reports"
NAV_NAME = "Login/Logout reports"
# The Airflow navigation bar is narrow: a longer label is cut ("Login/Log…").
NAV_LABEL = "Logins"

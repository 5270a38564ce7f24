"""Settings come from the environment, or S3 credentials from an Airflow connection."""

import json

import pytest

from timecard.errors import TimecardError
from timecard.settings import ENV_VARS, get_settings


def test_defaults_live_under_timecard_home():
    settings = get_settings({"TIMECARD_HOME": "/srv/tc"})
    assert settings.events_root == "/srv/tc/events"
    assert settings.output_root == "/srv/tc/output"
    assert settings.cache_root == "/srv/tc/cache"
    assert settings.instance_alias == "my-instance"


def test_every_root_can_be_pointed_elsewhere():
    settings = get_settings(
        {
            "TIMECARD_EVENTS_ROOT": "s3://raw/connect",
            "TIMECARD_OUTPUT_ROOT": "s3://reports",
            "TIMECARD_CACHE_ROOT": "s3://scratch/cache",
            "TIMECARD_INSTANCE_ALIAS": "acme-prod",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
            "AWS_ACCESS_KEY_ID": "AKID",
            "AWS_SECRET_ACCESS_KEY": "very-secret",
            "AWS_DEFAULT_REGION": "eu-west-1",
        }
    )
    assert (settings.events_root, settings.output_root) == ("s3://raw/connect", "s3://reports")
    assert (settings.cache_root, settings.instance_alias) == ("s3://scratch/cache", "acme-prod")
    assert settings.s3.endpoint_url == "http://127.0.0.1:9000"
    assert settings.s3.secret_access_key == "very-secret"
    # Secrets never show in a repr, so they cannot reach a log line or an error message.
    assert "very-secret" not in repr(settings) and "AKID" not in repr(settings)


def test_s3_credentials_can_come_from_an_airflow_connection(monkeypatch):
    connection = {
        "conn_type": "aws",
        "login": "AKID-FROM-CONN",
        "password": "secret-from-conn",
        "extra": {"endpoint_url": "http://127.0.0.1:9000", "region_name": "eu-west-1"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_TIMECARD_S3", json.dumps(connection))
    settings = get_settings({"TIMECARD_AWS_CONN_ID": "timecard_s3", "AWS_ACCESS_KEY_ID": "ignored"})
    assert settings.s3.endpoint_url == "http://127.0.0.1:9000"
    assert settings.s3.region == "eu-west-1"
    assert settings.s3.access_key_id == "AKID-FROM-CONN"
    assert settings.s3.secret_access_key == "secret-from-conn"


def test_env_vars_lists_exactly_the_variables_the_module_reads():
    """ENV_VARS is what deployments (docker-compose) are checked against: keep it exact."""
    import inspect
    import re

    import timecard.settings as module

    code = inspect.getsource(module).split("ENV_VARS = (", 1)[1].split(")", 1)[1]
    read = set(re.findall(r'"((?:TIMECARD|AWS)_[A-Z_]+)"', code))
    assert read == set(ENV_VARS)


def test_completeness_settings_have_defaults_and_take_fractions():
    defaults = get_settings({})
    assert (defaults.settle_minutes, defaults.max_wait_minutes) == (15, 60)
    assert (defaults.gate_poke_seconds, defaults.late_data_horizon_days) == (60, 7)
    tuned = get_settings(
        {
            "TIMECARD_SETTLE_MINUTES": "0.5",
            "TIMECARD_MAX_WAIT_MINUTES": "2.25",
            "TIMECARD_GATE_POKE_SECONDS": "10",
            "TIMECARD_LATE_DATA_HORIZON_DAYS": "30",
        }
    )
    assert (tuned.settle_minutes, tuned.max_wait_minutes) == (0.5, 2.25)
    assert (tuned.gate_poke_seconds, tuned.late_data_horizon_days) == (10, 30)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TIMECARD_SETTLE_MINUTES", "-1"),
        ("TIMECARD_MAX_WAIT_MINUTES", "an hour"),
        ("TIMECARD_MAX_WAIT_MINUTES", "nan"),
        ("TIMECARD_GATE_POKE_SECONDS", "0"),
        ("TIMECARD_LATE_DATA_HORIZON_DAYS", "0.5"),
    ],
)
def test_bad_completeness_settings_are_refused_naming_the_variable(name, value):
    with pytest.raises(TimecardError, match=name):
        get_settings({name: value})


@pytest.mark.parametrize(
    ("value", "saves"), [(None, True), ("", True), ("false", False), ("No", False), ("1", True)]
)
def test_ui_saving_of_definitions_is_on_unless_turned_off(value, saves):
    env = {} if value is None else {"TIMECARD_UI_SAVE_DEFINITIONS": value}
    assert get_settings(env).ui_save_definitions is saves


def test_a_bad_ui_save_setting_is_refused_naming_the_variable():
    with pytest.raises(TimecardError, match="TIMECARD_UI_SAVE_DEFINITIONS must be true or false"):
        get_settings({"TIMECARD_UI_SAVE_DEFINITIONS": "sometimes"})

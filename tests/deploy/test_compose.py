"""docker-compose.yaml, Dockerfile and .env.example: well formed and consistent with the repository.

Docker cannot run on the development machines or in CI, so these tests read the files as
`docker compose` would (YAML with anchors and merge keys, `${VAR}` interpolation from `.env`)
and check what a first `docker compose up` would otherwise find out the hard way. The one piece
of code the compose file carries, the bucket bootstrap, is run for real against an S3 server.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid

import pytest
import yaml

from tests.builders import S3_KEY, S3_SECRET, s3_client
from timecard.settings import ENV_VARS, REPO_ROOT

COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yaml").read_text())
SERVICES: dict[str, dict] = COMPOSE["services"]
DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text()
ENV_EXAMPLE = REPO_ROOT / ".env.example"

AIRFLOW_IMAGE = "apache/airflow:3.3.2-python3.11"
DAEMONS = {
    "postgres",
    "redis",
    "object-store",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
    "airflow-triggerer",
}
ONE_SHOTS = {"airflow-init", "object-store-init"}
# What every Airflow service must be told for timecard to find its data and reach S3.
TIMECARD_WIRING = {
    "TIMECARD_EVENTS_ROOT",
    "TIMECARD_OUTPUT_ROOT",
    "TIMECARD_CACHE_ROOT",
    "TIMECARD_INSTANCE_ALIAS",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
}
# The project folders the image copies to /opt/timecard and the compose file mounts over them.
PROJECT_FOLDERS = ("dags", "plugins", "timecard", "transforms", "schemas", "reports")
# Variables that docker compose itself reads from .env, not the compose file.
COMPOSE_OWN_VARIABLES = {"COMPOSE_PROFILES"}
PLACEHOLDER = "change-me"

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}; `$$` is a literal `$`.
INTERPOLATION = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<operator>:?[-?])(?P<argument>[^}]*))?\}"
)


def strings_in(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [text for value in node.values() for text in strings_in(value)]
    if isinstance(node, list):
        return [text for value in node for text in strings_in(value)]
    return []


def variables_used() -> dict[str, bool]:
    """Each `${VAR}` of the compose file, and whether compose needs it set (no default)."""
    found: dict[str, bool] = {}
    for text in strings_in(COMPOSE):
        for match in INTERPOLATION.finditer(text):
            if match["name"]:
                needed = match["operator"] in (None, ":?", "?")
                found[match["name"]] = found.get(match["name"], False) or needed
    return found


def env_example() -> dict[str, str]:
    lines = ENV_EXAMPLE.read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {name.strip(): value.strip() for name, value in pairs}


def interpolate(text: str, variables: dict[str, str]) -> str:
    """Compose's interpolation, as `docker compose` applies it with `.env` loaded."""

    def replace(match: re.Match) -> str:
        if not match["name"]:
            return "$"
        value = variables.get(match["name"])
        operator = match["operator"] or ""
        # With a colon, an empty value counts as unset.
        present = bool(value) if operator.startswith(":") else value is not None
        if operator.endswith("?") and not present:
            raise AssertionError(f"compose would stop: {match['argument']}")
        if operator.endswith("-") and not present:
            return match["argument"]
        return value or ""

    return INTERPOLATION.sub(replace, text)


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {name: str(value) for name, value in env.items()}


def volume_mounts(service: dict) -> list[tuple[str, str]]:
    """(source, target) of each mount, in either of compose's two syntaxes."""
    mounts = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            mounts.append((volume["source"], volume["target"]))
        else:
            source, target = volume.split(":")[:2]
            mounts.append((source, target))
    return mounts


def airflow_services() -> dict[str, dict]:
    """The services that run the timecard Airflow image (built from ./Dockerfile)."""
    return {name: service for name, service in SERVICES.items() if service.get("build") == "."}


def dockerfile_env() -> dict[str, str]:
    """The ENV settings of the Dockerfile (`ENV A=1 \\` continued lines)."""
    text = DOCKERFILE.replace("\\\n", " ")
    return {
        name: value
        for line in text.splitlines()
        if line.startswith("ENV ")
        for name, value in (pair.split("=", 1) for pair in line[4:].split())
    }


# -- compose file ----------------------------------------------------------------------------


def test_compose_has_the_services_of_airflows_celery_deployment():
    assert set(SERVICES) >= DAEMONS | ONE_SHOTS
    assert set(airflow_services()) >= {name for name in SERVICES if name.startswith("airflow-")}
    for name, service in airflow_services().items():
        assert environment(service)["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name


def test_every_long_running_service_has_a_health_check():
    for name in DAEMONS:
        assert SERVICES[name]["healthcheck"]["test"], name
        assert SERVICES[name]["restart"] == "always", name
    for name in ONE_SHOTS:
        assert SERVICES[name]["restart"] == "no", name


def test_dependencies_exist_and_wait_for_health_or_completion():
    for name, service in SERVICES.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"
            expected = (
                "service_completed_successfully" if dependency in ONE_SHOTS else "service_healthy"
            )
            assert rule["condition"] == expected, f"{name} -> {dependency}"


def test_a_dependency_outside_the_active_profiles_is_optional():
    for name, service in SERVICES.items():
        for dependency, rule in service.get("depends_on", {}).items():
            profiles = set(SERVICES[dependency].get("profiles", []))
            if profiles - set(service.get("profiles", [])):
                assert rule.get("required") is False, f"{name} -> {dependency}"


def test_named_volumes_are_declared_and_bind_mounts_exist_in_the_repository():
    declared = set(COMPOSE.get("volumes") or {})
    for name, service in SERVICES.items():
        for source, _ in volume_mounts(service):
            if source.startswith((".", "/")):
                assert (REPO_ROOT / source).resolve().is_dir(), f"{name} mounts missing {source}"
                assert (REPO_ROOT / source).resolve().is_relative_to(REPO_ROOT), source
            else:
                assert source in declared, f"{name} uses undeclared volume {source}"


def test_every_setting_passed_to_timecard_is_one_the_settings_module_reads():
    passed = {
        variable
        for service in SERVICES.values()
        for variable in environment(service)
        if variable.startswith(("TIMECARD_", "AWS_"))
    }
    passed |= {name for name in dockerfile_env() if name.startswith(("TIMECARD_", "AWS_"))}
    passed |= {name for name in env_example() if name.startswith("TIMECARD_")}
    assert passed <= set(ENV_VARS), passed - set(ENV_VARS)


def test_every_airflow_service_gets_the_storage_settings_and_the_same_secrets():
    reference = environment(SERVICES["airflow-worker"])
    assert set(reference) >= TIMECARD_WIRING
    for name, service in airflow_services().items():
        env = environment(service)
        for variable in [*TIMECARD_WIRING, "AIRFLOW__API_AUTH__JWT_SECRET"]:
            assert env[variable] == reference[variable], f"{name}: {variable}"


def test_the_worker_can_be_scaled():
    worker = SERVICES["airflow-worker"]
    assert worker["command"] == "celery worker"
    # A fixed name or host port would stop `docker compose up --scale airflow-worker=N`.
    assert "container_name" not in worker
    assert "ports" not in worker
    assert not any("container_name" in service for service in SERVICES.values())


def test_code_and_reports_are_mounted_where_the_image_keeps_them():
    env = dockerfile_env()
    mounts = dict(volume_mounts(SERVICES["airflow-worker"]))
    for folder in PROJECT_FOLDERS:
        target = f"{env['PYTHONPATH']}/{folder}"
        assert mounts[f"./{folder}"] == target
        assert re.search(rf"^COPY .*\b{folder} {target}$", DOCKERFILE, re.MULTILINE), folder
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == mounts["./dags"]
    assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == mounts["./plugins"]
    assert env["TIMECARD_REPORTS_DIR"] == mounts["./reports"]


# -- Dockerfile ------------------------------------------------------------------------------


def test_dockerfile_extends_the_airflow_image_that_requirements_pin():
    assert re.findall(r"^FROM (\S+)", DOCKERFILE, re.MULTILINE) == [AIRFLOW_IMAGE]
    pins = (REPO_ROOT / "requirements.txt").read_text()
    airflow_version = AIRFLOW_IMAGE.split(":")[1].split("-")[0]
    assert re.search(rf"^apache-airflow=={re.escape(airflow_version)}$", pins, re.MULTILINE)


def test_dockerfile_installs_the_pinned_requirements():
    copied = re.search(r"^COPY .*\brequirements\.txt (\S+)$", DOCKERFILE, re.MULTILINE)
    assert copied
    assert re.search(rf"^RUN pip install .*-r {re.escape(copied[1])}$", DOCKERFILE, re.MULTILINE)


# -- .env.example ----------------------------------------------------------------------------


def test_env_example_sets_every_variable_compose_needs_and_nothing_else():
    used = variables_used()
    example = env_example()
    missing = {name for name, needed in used.items() if needed} - set(example)
    assert not missing, f".env.example lacks {sorted(missing)}"
    unused = set(example) - set(used) - COMPOSE_OWN_VARIABLES
    assert not unused, f".env.example sets {sorted(unused)}, which the compose file never uses"


def test_env_example_commits_no_secret():
    for name, value in env_example().items():
        if re.search(r"PASSWORD|SECRET|_KEY", name):
            assert value in ("", PLACEHOLDER), f"{name} has a value in .env.example"


def test_env_example_puts_the_shared_cache_in_s3():
    worker_env = {
        name: interpolate(value, env_example())
        for name, value in environment(SERVICES["airflow-worker"]).items()
    }
    for root in ("EVENTS", "OUTPUT", "CACHE"):
        assert worker_env[f"TIMECARD_{root}_ROOT"].startswith("s3://"), root
    assert worker_env["AWS_ENDPOINT_URL"] == "http://object-store:8333"


def test_compose_uses_only_braced_variables():
    # `$NAME` would be interpolated too, but escapes the checks above: write ${NAME} or $$.
    for text in strings_in(COMPOSE):
        assert not re.search(r"(?<!\$)\$[A-Za-z_]", text.replace("$$", "")), text


# -- the bucket bootstrap, run for real ------------------------------------------------------


def run_bucket_bootstrap(variables: dict[str, str]) -> str:
    service = SERVICES["object-store-init"]
    program, *options = service["entrypoint"]
    assert program == "python"
    env = {name: interpolate(value, variables) for name, value in environment(service).items()}
    done = subprocess.run(
        [sys.executable, *options, *service["command"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_bucket_bootstrap_creates_the_bucket_of_each_s3_root_once(s3_server):
    run = uuid.uuid4().hex[:8]
    variables = env_example() | {
        "TIMECARD_EVENTS_ROOT": f"s3://events-{run}/connect/agent-events",
        "TIMECARD_CACHE_ROOT": f"s3://cache-{run}",
        "TIMECARD_OUTPUT_ROOT": f"s3://reports-{run}/out",
        "AWS_ENDPOINT_URL": s3_server,
        "AWS_ACCESS_KEY_ID": S3_KEY,
        "AWS_SECRET_ACCESS_KEY": S3_SECRET,
    }
    expected = [f"cache-{run}", f"events-{run}", f"reports-{run}"]

    first = run_bucket_bootstrap(variables)
    second = run_bucket_bootstrap(variables)

    assert first.splitlines() == [f"created bucket {bucket}" for bucket in expected]
    assert second.splitlines() == [f"bucket {bucket} exists" for bucket in expected]
    client = s3_client(s3_server)
    existing = {bucket["Name"] for bucket in client.list_buckets()["Buckets"]}
    assert set(expected) <= existing

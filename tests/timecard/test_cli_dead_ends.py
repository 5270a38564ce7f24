"""The command line never leaves a person stuck: each refusal or empty result says what to do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import WINDOW, assert_one_paragraph_refusal, event, run, write_ndjson
from timecard.settings import REPO_ROOT
from transforms.filters import Filters, closest, unmatched

WEEKLY = "name: Weekly\ntimezone: Asia/Seoul\nschedule: {weekly: [monday]}\nwindow_days: 7\n"


@pytest.fixture
def roster_root(tmp_path) -> str:
    """Twelve agents in two routing profiles and two hierarchies."""
    root = str(tmp_path / "events")
    records = []
    for number in range(12):
        name = f"agent.{number:02d}"
        profile, hierarchy = ("Billing", ("EMEA", "Paris")) if number % 2 else ("Sales", ("APAC",))
        records.append(
            event(
                "LOGIN",
                f"2026-11-02T08:{number:02d}:00Z",
                name,
                routing_profile=profile,
                hierarchy=hierarchy,
            )
        )
    write_ndjson(root, "2026-11-02", records)
    return root


@pytest.fixture
def weekly_report(tmp_path, monkeypatch, timecard_home) -> str:
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "weekly.yaml").write_text(WEEKLY)
    monkeypatch.setenv("TIMECARD_REPORTS_DIR", str(folder))
    return "weekly"


# -- a filter that matches nothing ----------------------------------------------------------------


def test_closest_values_rank_by_similarity_and_stop_at_ten():
    known = [f"agent.{n:02d}" for n in range(12)] + ["bob"]
    assert closest("Agent.1", known)[:3] == ["agent.01", "agent.10", "agent.11"]
    assert len(closest("x", known)) == 10
    misses = unmatched(
        Filters(("bob", "bobby"), (), ("EMEA/Pariss",)),
        {"agents": known, "routing_profiles": [], "hierarchies": ["EMEA", "EMEA/Paris"]},
    )
    assert list(misses) == ["agents", "hierarchies"]
    assert list(misses["agents"]) == ["bobby"] and misses["agents"]["bobby"][0] == "bob"
    assert misses["hierarchies"]["EMEA/Pariss"][0] == "EMEA/Paris"


def test_a_filter_that_matches_nothing_prints_the_closest_known_values(
    roster_root, tmp_path, capsys
):
    out = str(tmp_path / "r.csv")
    common = ("report", "--events", roster_root, *WINDOW, "--out", out, "--lookback-days", "0")
    code = run(*common, "--routing-profile", "Biling", "--agent", "agent.3")
    assert code == 0
    stderr = capsys.readouterr().err
    assert "rows 0" in stderr
    [profile] = [line for line in stderr.splitlines() if "--routing-profile" in line]
    assert profile == (
        "timecard: warning: --routing-profile 'Biling' matches no session in the range; closest "
        "known values: Billing, Sales."
    )
    lines = stderr.splitlines()
    assert lines.index(profile) < next(i for i, line in enumerate(lines) if "wrote" in line)
    [agent] = [line for line in stderr.splitlines() if "--agent" in line]
    listed = agent.split("closest known values: ")[1].rstrip(".").split(", ")
    assert len(listed) == 10 and listed[0] == "agent.03"

    assert run(*common, "--hierarchy", "EMEA/Paris") == 0  # matches: no hint
    assert "closest known values" not in capsys.readouterr().err


# -- backfill --------------------------------------------------------------------------------------


def test_a_backfill_range_without_a_window_says_which_windows_lie_around_it(weekly_report, capsys):
    code = run("backfill", weekly_report, "--from", "2026-11-03", "--to", "2026-11-04")
    assert code == 2
    line = assert_one_paragraph_refusal(capsys.readouterr().err)
    assert "No scheduled window of 'weekly' starts between 2026-11-03 and 2026-11-04" in line
    assert "The nearest windows start on 2026-11-02 (before) and 2026-11-09 (after)." in line


@pytest.mark.parametrize("option", ["--from", "--to"])
def test_backfill_bounds_are_dates_and_a_time_is_explained(weekly_report, capsys, option):
    given = {"--from": "2026-11-02", "--to": "2026-11-02"} | {option: "2026-11-25T00:00"}
    with pytest.raises(SystemExit) as exit_info:
        run("backfill", weekly_report, *(part for pair in given.items() for part in pair))
    assert exit_info.value.code == 2
    stderr = capsys.readouterr().err
    assert "invalid fromisoformat value" not in stderr
    assert (
        f"argument {option}: '2026-11-25T00:00' is a time, but backfill selects whole windows by "
        "their local start date: give a date such as 2026-11-25." in stderr
    )


@pytest.mark.parametrize(
    "command",
    [
        ("backfill", "nope", "--from", "2026-11-02", "--to", "2026-11-02"),
        ("reports", "show", "nope"),
        ("reports", "edit", "nope", "--name", "x"),
        ("reports", "schedule", "nope", "--daily"),
        ("reports", "delete", "nope"),
        ("ddl", "nope", "--dialect", "duckdb"),
        ("republish", "nope", "--since", "2026-11-02"),
    ],
)
def test_an_unknown_slug_gets_the_same_message_everywhere(weekly_report, capsys, command):
    assert run(*command) == 2
    line = assert_one_paragraph_refusal(capsys.readouterr().err)
    assert line.startswith("timecard: error: There is no saved report 'nope' in ")
    assert line.endswith("`timecard reports list` shows the saved reports.")


# -- dates ---------------------------------------------------------------------------------------


DATE_OPTIONS = {
    "generate-events --start": (
        "generate-events",
        "--out",
        "{tmp}/ev",
        "--agents",
        "1",
        "--days",
        "1",
        "--start",
    ),
    "backfill --from": ("backfill", "weekly", "--to", "2026-11-02", "--from"),
    "backfill --to": ("backfill", "weekly", "--from", "2026-11-02", "--to"),
    "republish --since": ("republish", "weekly", "--since"),
}


@pytest.mark.parametrize("where", DATE_OPTIONS)
@pytest.mark.parametrize(
    ("given", "explained"),
    [
        (
            "01-11-2026",
            "'01-11-2026' is not a date ('01-11-2026' could mean 2026-11-01 or 2026-01-11); give ",
        ),
        ("31/12/2026", "'31/12/2026' is not a date ('31/12/2026' could mean 2026-12-31); give "),
        ("yesterday", "'yesterday' is not a date; give "),
    ],
)
def test_every_date_option_explains_a_bad_date(
    weekly_report, tmp_path, capsys, where, given, explained
):
    """No argparse 'invalid fromisoformat value': the value, the form wanted, an example."""
    command = [part.format(tmp=tmp_path) for part in DATE_OPTIONS[where]]
    with pytest.raises(SystemExit) as exit_info:
        run(*command, given)
    assert exit_info.value.code == 2  # a bad parameter, like every other usage error
    stderr = capsys.readouterr().err
    assert "Traceback" not in stderr and "fromisoformat" not in stderr
    option = where.split()[-1]
    last = stderr.splitlines()[-1]
    assert last.startswith(f"timecard {command[0]}: error: argument {option}: {explained}")
    assert " as YYYY-MM-DD, like 2026-" in last
    assert not (tmp_path / "ev").exists()


@pytest.mark.parametrize("given", ["01-11-2026", "2026-13-01", "noon"])
def test_a_bad_report_time_names_the_value_and_the_accepted_forms(
    roster_root, tmp_path, capsys, given
):
    code = run(
        "report",
        "--events",
        roster_root,
        "--start",
        given,
        "--end",
        "2026-11-03",
        "--out",
        str(tmp_path / "r.csv"),
    )
    assert code == 2
    line = assert_one_paragraph_refusal(capsys.readouterr().err)
    assert f"Cannot read {given!r} as a date and time. Use ISO-8601" in line
    assert not (tmp_path / "r.csv").exists()


# -- the terminal ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_no_third_party_deprecation_warning_reaches_the_terminal(tmp_path):
    """`timecard backfill` imports Airflow's execution API, whose `svcs` imports Starlette's
    test client: that import warned on every command."""
    home = tmp_path / "home"
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "weekly.yaml").write_text(WEEKLY)
    write_ndjson(str(home / "events"), "2026-11-02", [event("LOGIN", "2026-11-02T01:00:00Z")])
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "TIMECARD_HOME": str(home),
        "TIMECARD_REPORTS_DIR": str(reports),
    }
    script = Path(sys.executable).with_name("timecard")
    completed = subprocess.run(
        [str(script), "backfill", "weekly", "--from", "2026-11-02", "--to", "2026-11-02"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    assert "published" in completed.stderr
    assert "Warning" not in completed.stdout + completed.stderr
    assert "httpx2" not in completed.stdout + completed.stderr

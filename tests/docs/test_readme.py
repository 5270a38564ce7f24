"""The README is the front door: short, and every link in it and in docs/ leads somewhere."""

from __future__ import annotations

import re

import pytest

from timecard.settings import REPO_ROOT

README = REPO_ROOT / "README.md"
DOCS = sorted((REPO_ROOT / "docs").glob("*.md"))
# Written by the reliability work of issue 18, which lands separately; linked from the README now.
WRITTEN_ELSEWHERE = {REPO_ROOT / "docs" / "reliability.md"}
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")


def test_the_readme_fits_on_a_page_or_so():
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 420


def test_the_long_documentation_lives_in_docs():
    text = README.read_text(encoding="utf-8")
    for moved in ("## How it stays fast", "## Measured", "### Where a deployment outgrows that"):
        assert moved not in text
    for page in ("performance.md", "deployment.md", "cli.md", "raw-input.md", "warehouse.md"):
        assert f"](docs/{page}" in text


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda page: page.name)
def test_every_relative_link_leads_to_a_file_and_heading(page):
    for target, anchor in LINK.findall(page.read_text(encoding="utf-8")):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path = (page.parent / target).resolve()
        if path in WRITTEN_ELSEWHERE:
            continue
        assert path.exists(), f"{page.name} links to {target}, which does not exist"
        if anchor and path.suffix == ".md":
            headings = {
                re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
                for line in path.read_text(encoding="utf-8").splitlines()
                if line.startswith("#")
            }
            assert anchor[1:] in headings, f"{page.name} links to {target}{anchor}: no heading"


def test_the_readme_names_the_commands_a_new_user_needs():
    text = README.read_text(encoding="utf-8")
    for needed in (
        "make run",
        "make ui",
        "make test",
        "source .venv/bin/activate",
        'eval "$(python -m timecard.airflow_env)"',
        "AWS_ENDPOINT_URL=http://127.0.0.1:5000",
        "moto_server -H 127.0.0.1 -p 5000",
    ):
        assert needed in text, needed

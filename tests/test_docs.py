"""The documentation site (mkdocs.yml, docs/) builds in strict mode, and what it says about the
settings and the job types' files matches the code (docs/development.md, "These pages")."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from app.jobs.types import JobType, registry
from tests.live import ROOT

DOCS = ROOT / "docs"
MKDOCS = Path(sys.executable).parent / "mkdocs"
# The page of a job type whose slug is not its name's (docs/job-types/<slug>.md).
JOB_TYPE_PAGES = {5: "sso-migration", 100: "scim-bulk", 101: "sso-revert"}
# The functions of app/config.py that read one variable, named by their first string argument.
SETTING_READERS = {"get", "_int", "_float", "_choice", "_optional_int"}


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MKDOCS), "build", "--strict", "--config-file", str(config), "--site-dir", str(site)],
        cwd=config.parent,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def tables(markdown: str) -> list[list[list[str]]]:
    """Every table of a page: its rows (the header first, the |---| line left out), each a list
    of cells, trimmed."""
    found: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if not all(re.fullmatch(r":?-+:?", cell) for cell in cells):
                current.append(cells)
        elif current:
            found.append(current)
            current = []
    return found


def first_column(table: list[list[str]]) -> list[str]:
    """The body rows' first cells, backticks stripped."""
    return [row[0].replace("`", "") for row in table[1:]]


def page_of(job_type: JobType) -> Path:
    slug = JOB_TYPE_PAGES.get(job_type.code) or re.sub(r"[^a-z0-9]+", "-", job_type.name.lower())
    return DOCS / "job-types" / f"{slug.strip('-')}.md"


def test_the_site_builds_in_strict_mode(tmp_path: Path) -> None:
    built = build(ROOT / "mkdocs.yml", tmp_path / "site")

    assert built.returncode == 0, built.stderr
    assert (tmp_path / "site" / "index.html").is_file()


def test_strict_mode_fails_on_a_page_missing_from_nav_and_a_broken_link(tmp_path: Path) -> None:
    """MkDocs 1.6 only logs these at INFO unless mkdocs.yml's validation makes them warnings."""
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(DOCS, tmp_path / "docs")
    (tmp_path / "docs" / "orphan.md").write_text("# Not in nav\n")
    with (tmp_path / "docs" / "api.md").open("a") as page:
        page.write("\n[gone](concepts.md#no-such-section) [missing](no-such-page.md)\n")

    built = build(tmp_path / "mkdocs.yml", tmp_path / "site")

    assert built.returncode != 0
    assert "orphan.md" in built.stderr
    assert "no-such-section" in built.stderr and "no-such-page.md" in built.stderr


def settings_read() -> set[str]:
    """Every environment variable app/config.py reads: the first string argument of
    ``env.get(...)``, ``_int``, ``_float``, ``_choice`` and ``_optional_int``."""
    names = set()
    for node in ast.walk(ast.parse((ROOT / "app" / "config.py").read_text())):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name not in SETTING_READERS:
            continue
        if isinstance(func, ast.Attribute) and getattr(func.value, "id", None) != "env":
            continue
        literals = [a.value for a in node.args if isinstance(a, ast.Constant)]
        names.update(v for v in literals[:1] if isinstance(v, str) and v.isupper())
    return names


def test_every_setting_is_on_the_configuration_page() -> None:
    read = settings_read()
    assert {"DATABASE_URL", "BULKJOB_CHUNK_SIZE", "LOG_LEVEL"} <= read  # the parser finds them
    page = (DOCS / "configuration.md").read_text()
    documented = {
        name
        for table in tables(page)
        for row in table[1:]
        for name in re.findall(r"`(\w+)`", row[0])
    }
    assert sorted(read - documented) == []


def test_each_uploaded_job_type_has_a_page_with_its_columns() -> None:
    uploaded = [job_type for job_type in registry().values() if job_type.uploadable]
    assert uploaded
    for job_type in uploaded:
        page = page_of(job_type)
        assert page.is_file(), (
            f"jobType {job_type.code} ({job_type.name}) is made by upload but has no page "
            f"{page.relative_to(ROOT)}: write one with a table of its columns, and add it to "
            "mkdocs.yml's nav and docs/job-types/index.md"
        )
        columns = [first_column(table) for table in tables(page.read_text())]
        assert list(job_type.columns) in columns, (
            f"{page.relative_to(ROOT)} has no table whose first column is exactly "
            f"{list(job_type.columns)} (jobType {job_type.code}); its tables' first columns: "
            f"{columns}"
        )


def test_every_job_type_is_listed_on_the_job_types_page() -> None:
    listed = first_column(tables((DOCS / "job-types" / "index.md").read_text())[0])
    codes = [str(code) for code in sorted(registry())]
    assert listed == codes, (
        f"docs/job-types/index.md's first table lists {listed}; the code has {codes}"
    )


def test_what_the_code_cites_is_in_the_docs() -> None:
    """A comment or docstring citing ``docs/<page>.md`` (optionally ``, "Heading"``) names a page
    that exists, and a heading of that page that starts with the text cited."""
    places = [
        *(ROOT / "app").rglob("*.py"),
        *(ROOT / "worker").rglob("*.py"),
        *(ROOT / "tests").rglob("*.py"),
        *(ROOT / "templates").rglob("*.html"),
        *(ROOT / "scripts").iterdir(),
        ROOT / "gunicorn.conf.py",
        ROOT / "Makefile",
    ]
    cite = re.compile(r'docs/([\w/-]+\.md)(?:,\s+(?:#\s*)?"([^"]+)")?')
    bad = []
    for place in places:
        for page, heading in cite.findall(place.read_text()):
            target = DOCS / page
            if not target.is_file():
                bad.append(f"{place.relative_to(ROOT)}: docs/{page} does not exist")
                continue
            headings = [
                line.lstrip("#").strip().replace("`", "")
                for line in target.read_text().splitlines()
                if line.startswith("#")
            ]
            if heading and not any(h.startswith(" ".join(heading.split())) for h in headings):
                bad.append(f"{place.relative_to(ROOT)}: docs/{page} has no heading {heading!r}")
    assert bad == []


def test_no_page_cites_a_document_outside_the_repository() -> None:
    pages = [ROOT / "README.md", ROOT / "mkdocs.yml", *sorted(DOCS.rglob("*.md"))]
    cites = re.compile(r"SPEC(\.md| ?§)|\.\./shared/")
    assert [str(p.relative_to(ROOT)) for p in pages if cites.search(p.read_text())] == []


def test_the_readme_is_short_and_its_links_lead_somewhere() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    anchors = {
        re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in readme.splitlines()
        if line.startswith("#")
    }
    for target in re.findall(r"\]\(([^)]+)\)", readme):
        if target.startswith("http"):
            continue
        path, _, anchor = target.partition("#")
        if path:
            assert (ROOT / path).is_file(), target
        else:
            assert anchor in anchors, target

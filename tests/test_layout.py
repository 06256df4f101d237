"""The layout docs/development.md's "Code map" describes: one package per domain, imports running one way
(HTTP layers -> domain services -> database), no module holding two things."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live import ROOT

HTTP_LAYERS = ("app.api", "app.console", "app.scim.http", "app.ops")
DOMAINS = ("app.jobs", "app.directory", "app.accounts", "app.scim")
BASE = ("app.db", "app.config", "app.urls", "app.exceptions")
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted([*(ROOT / "app").rglob("*.py"), *(ROOT / "worker").rglob("*.py")]):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _layer(name: str) -> str:
    for package in HTTP_LAYERS:
        if _within(name, package):
            return package
    for package in (*DOMAINS, *BASE, "app.http", "worker", "app.client", "app.cli"):
        if _within(name, package):
            return package
    return name


def _imports(path: Path) -> set[str]:
    """Every module of this project that ``path`` imports (at any depth of the file)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name in MODULES}


def _violations(importer_in: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for name, path in MODULES.items():
        if not any(_within(name, package) for package in importer_in):
            continue
        for imported in _imports(path):
            mine = _layer(name)
            if any(_within(imported, p) for p in forbidden) and not _within(imported, mine):
                bad.append(f"{name} imports {imported}")
    return bad


def test_the_base_imports_no_domain_and_no_http_layer() -> None:
    assert _violations(BASE, (*DOMAINS, *HTTP_LAYERS, "app.http", "worker")) == []


def test_domains_know_no_http_layer() -> None:
    domains = tuple(d for d in DOMAINS)
    bad = [
        v
        for v in _violations(domains, (*HTTP_LAYERS, "app.http", "worker"))
        if not v.startswith("app.scim.http")
    ]
    assert bad == []


def test_jobs_import_no_other_domain() -> None:
    """A job type registers itself through the explicit list in app/jobs/types, so the engine
    never imports SCIM (whose bulk job type builds on jobs)."""
    assert _violations(("app.jobs",), ("app.scim", "app.directory", "app.accounts")) == []


def test_http_layers_import_no_other_http_layer() -> None:
    assert _violations(HTTP_LAYERS, HTTP_LAYERS) == []


def test_domains_take_nothing_from_a_request() -> None:
    """Plain data in and out: no request, g, blueprints or responses below the HTTP layers."""
    bad = []
    for name, path in MODULES.items():
        if not any(_within(name, d) for d in DOMAINS) or _within(name, "app.scim.http"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module in ("flask", "werkzeug.wrappers"):
                bad.extend(f"{name}: {a.name}" for a in node.names if a.name != "Flask")
    assert bad == []


def test_no_module_holds_two_things() -> None:
    long = {
        name: lines
        for name, path in MODULES.items()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_only_a_job_type_knows_its_code() -> None:
    """What a type offers beyond the rest comes from the type: no other module or page tests a
    job's type against a code."""
    pattern = re.compile(r"job_type\W*(==|!=|\bis\b)\s*\d|\b(SCIM_BULK|SSO_MIGRATION)\b")
    owners = {ROOT / "app/jobs/types", ROOT / "app/scim/bulkjob.py"}
    places = [*MODULES.values(), *(ROOT / "templates").glob("*.html")]
    bad = [
        str(path.relative_to(ROOT))
        for path in places
        if not any(path == o or o in path.parents for o in owners)
        and pattern.search(path.read_text())
    ]
    assert bad == []


@pytest.mark.parametrize("module", ["app.client", "app.client_model", "app.cli", "app.cli_output"])
def test_the_client_loads_no_server_library(module: str) -> None:
    """``bulkjob`` and ``app.client`` import nothing that loads Flask, SQLAlchemy or Celery."""
    probe = (
        f"import sys, {module}; "
        "print(','.join(m for m in ('flask', 'sqlalchemy', 'celery', 'kombu') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""


def test_nothing_cites_a_document_outside_the_repository() -> None:
    places = [*MODULES.values(), *(ROOT / "tests").rglob("*.py"), *(ROOT / "templates").rglob("*")]
    cites = re.compile(r"SPEC(\.md| ?§)")
    bad = [str(p.relative_to(ROOT)) for p in places if p.is_file() and cites.search(p.read_text())]
    assert bad == []

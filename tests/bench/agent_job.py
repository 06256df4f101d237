"""The 3 MB agent file (docs/job-types/agent.md): CREATE rows, each with a team, two skill groups
and two attributes (a tenth of them new), run by a real worker on SQLite and PostgreSQL beside
the bare floor (tests/bench/agent_floors.py) on the same directory and file; and what a password
costs a row (1,000 CREATE rows with passwords against the same rows without).
"""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.db import db
from app.db.models import Agent, AgentTeam, Attribute, SkillGroup, table
from app.directory.agent_state import COLUMNS
from tests.bench import agent_floors
from tests.bench.job import (
    MAX_BYTES,
    PeakRss,
    _post_and_wait,
    _processing,
    floor_database,
    measure,
)
from tests.live import Worker

PASSWORD_ROWS = 1000


def directory() -> tuple[agent_floors.Directory, dict[int, tuple[list[str], list[str]]]]:
    """What the service's directory holds, for the floor and the file; and each peripheral's
    teams and skill groups (an agent's are on its own peripheral)."""
    teams, groups = table(AgentTeam), table(SkillGroup)
    by_peripheral: dict[int, tuple[list[str], list[str]]] = {}
    with db.read() as conn:
        for name, peripheral in conn.execute(select(teams.c.name, teams.c.peripheral_id)):
            by_peripheral.setdefault(peripheral, ([], []))[0].append(name)
        for name, peripheral in conn.execute(select(groups.c.name, groups.c.peripheral_id)):
            by_peripheral.setdefault(peripheral, ([], []))[1].append(name)
        attributes = [
            (r.name, r.data_type)
            for r in conn.execute(select(table(Attribute).c.name, table(Attribute).c.data_type))
        ]
        names = list(conn.execute(select(table(Agent).c.user_name)).scalars())
    known = agent_floors.Directory(
        [t for ts, _ in by_peripheral.values() for t in ts],
        [g for _, gs in by_peripheral.values() for g in gs],
        attributes,
        names,
    )
    return known, by_peripheral


def agent_file(
    known: tuple[agent_floors.Directory, dict[int, tuple[list[str], list[str]]]],
    *,
    rows: int | None = None,
    passwords: bool = False,
    prefix: str = "",
) -> tuple[bytes, int]:
    """CREATE rows (as many as fit in 3 MB, or ``rows``): each a new agent with a team, two
    skill groups and two attributes of one peripheral, one name in ten new (realistic names,
    in random order), each row with at least one existing team or skill group so the agent's
    peripheral is the one its new names are meant for."""
    directory_, by_peripheral = known
    peripherals = sorted(p for p, (ts, gs) in by_peripheral.items() if ts and gs)
    rng = random.Random(23)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    count = 0
    size = len(out.getvalue())
    while rows is None or count < rows:
        peripheral = rng.choice(peripherals)
        teams, groups_here = by_peripheral[peripheral]
        new_team = rng.random() < 0.1
        team = f"New_Team_{peripheral}_{rng.randrange(20)}" if new_team else rng.choice(teams)
        groups: list[str] = []
        while len(groups) < 2:
            new = rng.random() < 0.1 and (not new_team or groups)
            name = f"New_SG_{peripheral}_{rng.randrange(40)}" if new else rng.choice(groups_here)
            if name not in groups:
                groups.append(name)
        attributes: dict[str, str] = {}
        while len(attributes) < 2:
            if rng.random() < 0.1:
                name, data_type = f"New_Attr_{rng.randrange(50)}", 4
            else:
                name, data_type = rng.choice(list(directory_.attributes))
            attributes[name] = (
                rng.choice(["true", "false"]) if data_type == 3 else str(rng.randint(1, 10))
            )
        cells = {
            "operation": "CREATE",
            "userName": f"{prefix}{rng.choice(_FIRST).lower()}.{rng.choice(_LAST).lower()}{count}",
            "firstName": rng.choice(_FIRST),
            "lastName": rng.choice(_LAST),
            "password": f"Pw-{rng.randrange(10**9)}" if passwords else "",
            "agentTeamName": team,
            "skillGroups": ";".join(groups),
            "attributes": ";".join(f"{k}={v}" for k, v in sorted(attributes.items())),
        }
        line = io.StringIO()
        csv.writer(line, lineterminator="\r\n").writerow([cells.get(c, "") for c in COLUMNS])
        if rows is None and size + len(line.getvalue()) > MAX_BYTES:
            break
        out.write(line.getvalue())
        size += len(line.getvalue())
        count += 1
    return out.getvalue().encode(), count


_FIRST = ["Anna", "Ben", "Chen", "Dana", "Eli", "Fatima", "Goran", "Hana", "Ivan", "Jo"]
_LAST = ["Smith", "Garcia", "Nguyen", "Okafor", "Muller", "Rossi", "Kim", "Silva", "Novak"]


def _run(app: Any, work: Path, content: bytes) -> dict[str, Any]:
    worker = Worker(app.config["SETTINGS"], "bench-worker", work)
    try:
        worker.wait_ready(60)
        client = app.test_client()
        with PeakRss(worker.process.pid) as rss:
            body, post_to_final = _post_and_wait(client, content, "")
        known = directory()
        plain, _ = agent_file(known, rows=PASSWORD_ROWS, prefix="p.")
        secret, _ = agent_file(known, rows=PASSWORD_ROWS, passwords=True, prefix="q.")
        without, _ = _post_and_wait(client, plain, "")
        with_passwords, _ = _post_and_wait(client, secret, "")
    finally:
        worker.stop()
    return {
        "state": body["jobState"],
        "succeeded": body["succeededRecords"],
        "failed": body["failedRecords"],
        "processing": _processing(body),
        "post_to_final": post_to_final,
        "peak_rss_mb": rss.peak / 1024 / 1024,
        "password_cost_ms": (_processing(with_passwords) - _processing(without))
        / PASSWORD_ROWS
        * 1000,
        "password_states": (without["jobState"], with_passwords["jobState"]),
    }


def _agent_file() -> tuple[agent_floors.Directory, bytes, int]:
    known = directory()
    return (known[0], *agent_file(known))


def sqlite_benchmark(work: Path) -> dict[str, Any]:
    return measure(
        work,
        None,
        "filesystem://",
        _agent_file,
        lambda known, content: {"floor": agent_floors.sqlite_floor(work, known, content)},
        _run,
    )


def postgres_benchmark(work: Path, database_url: str, broker_url: str) -> dict[str, Any]:
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    return measure(
        work,
        database_url,
        broker_url,
        _agent_file,
        lambda known, content: {
            "floor": agent_floors.postgres_floor(floor_database(dsn), known, content)
        },
        _run,
    )


def report(name: str, figures: dict[str, Any]) -> None:
    ratio = figures["processing"] / figures["floor"]
    print(
        f"  agent file, {name}: {figures['rows']:,} CREATE rows, "
        f"{figures['bytes'] / 1024 / 1024:.2f} MB; state {figures['state']}, "
        f"{figures['succeeded']:,} succeeded, {figures['failed']:,} failed"
    )
    print(
        f"    floor (tests/bench/agent_floors.py, best of {agent_floors.RUNS}): "
        f"{figures['floor']:.3f} s"
    )
    print(f"    job processing (start->end):  {figures['processing']:.3f} s")
    print(f"    ratio to the floor:            {ratio:.2f}  (target <= 3)")
    print(
        f"    POST -> final state:           {figures['post_to_final']:.3f} s; "
        f"worker peak RSS {figures['peak_rss_mb']:.0f} MB (target < 200 MB)"
    )
    print(
        f"    one password costs a row:      {figures['password_cost_ms']:.1f} ms "
        f"({PASSWORD_ROWS:,} rows with passwords against the same without; "
        f"states {figures['password_states']})"
    )

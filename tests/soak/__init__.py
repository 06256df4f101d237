"""The soak: load across nodes (``make soak``; a small version runs under pytest).

Two gunicorn web nodes (each its own process group and port) and three ``celery worker`` nodes
(each its own ``BULKJOB_HOST_NAME``) on PostgreSQL and a private Redis; a demo directory; then at
once: clients each submit SSO-migration jobs (every job names agents no other job names, plus a
few that one other job also names) while connections poll the jobs and list them, across both
web nodes. It prints the figures and checks, from the database, that every job reached a final
state, every row has exactly one outcome, no agent was renamed twice, the counters equal the
outcomes, and no request got a 5xx. Traffic goes to 127.0.0.1 only; every wait has a deadline.
"""

from __future__ import annotations

import logging
import random
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Integer, cast, func, select

from app import create_app
from app.accounts import users
from app.db import db
from app.db import migrate as schema
from app.db.models import Agent, Job, JobLine, JobState, table
from app.directory import demo as directory
from tests import factories
from tests.live import RedisServer, WebNode, Worker

JOBS = "/unifiedconfig/config/bulkjob"


@dataclass(frozen=True)
class Plan:
    clients: int = 10
    jobs_per_client: int = 3
    rows: int = 1000
    shared: int = 50  # of each job's rows, naming agents one other job also names
    directory: int = 60_000
    pollers: int = 32
    web_nodes: int = 2
    web_workers: int = 2
    workers: int = 3
    chunk_size: int = 100
    deadline_seconds: float = 210  # for the load; setup and teardown come on top

    @property
    def jobs(self) -> int:
        return self.clients * self.jobs_per_client


@dataclass
class Result:
    seconds: float = 0.0
    jobs: int = 0
    rows: int = 0
    polls: int = 0
    poll_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    states: Counter[str] = field(default_factory=Counter)

    def figures(self) -> str:
        p99 = statistics.quantiles(self.latencies, n=100)[98] if len(self.latencies) > 1 else 0.0
        fivexx = sum(n for status, n in self.statuses.items() if status >= 500)
        return "\n".join(
            [
                f"jobs: {self.jobs} in {self.seconds:.1f} s = {self.jobs / self.seconds:.2f} jobs/s"
                f" ({', '.join(f'{n} {s}' for s, n in sorted(self.states.items()))})",
                f"rows: {self.rows} = {self.rows / self.seconds:.0f} rows/s",
                f"polls: {self.polls} in {self.poll_seconds:.1f} s = "
                f"{self.polls / max(self.poll_seconds, 1e-9):.0f} req/s, "
                f"p50 {statistics.median(self.latencies or [0]) * 1000:.0f} ms, "
                f"p99 {p99 * 1000:.0f} ms",
                f"errors: {len(self.errors)} (5xx: {fivexx}); statuses: {dict(self.statuses)}",
                f"checks: {'all passed' if not self.problems else '; '.join(self.problems)}",
            ]
        )


def job_files(plan: Plan, names: list[str]) -> list[str]:
    """CSV texts: job j names ``rows - shared`` agents of its own and ``shared`` agents that job
    j ^ 1 (its pair) names too, with a different new name: one of the two wins each."""
    own = plan.rows - plan.shared
    pairs = (plan.jobs + 1) // 2
    needed = plan.jobs * own + pairs * plan.shared
    if needed > len(names):
        raise ValueError(f"{plan.jobs} jobs need {needed} agents; the directory has {len(names)}")
    texts = []
    for j in range(plan.jobs):
        mine = names[j * own : (j + 1) * own]
        start = plan.jobs * own + (j // 2) * plan.shared
        shared = names[start : start + plan.shared]
        rows = [[n, "", "", f"{n}@sso{j}.example"] for n in [*mine, *shared]]
        random.Random(j).shuffle(rows)
        texts.append(factories.csv_text(rows))
    return texts


class Load:
    """The clients and pollers, in threads, each with its own HTTP connection."""

    def __init__(self, plan: Plan, urls: list[str], token: str) -> None:
        self.plan = plan
        self.urls = urls
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.locations: list[str] = []
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.result = Result()

    def _record(self, status: int | None, what: str) -> None:
        with self.lock:
            if status is None:
                self.result.errors.append(what)
                return
            self.result.statuses[status] += 1
            if status >= 400:
                self.result.errors.append(f"{status} {what}")

    def client(self, number: int, texts: list[str]) -> None:
        url = self.urls[number % len(self.urls)]
        with httpx.Client(base_url=url, headers=self.headers, timeout=60) as http:
            for k, text_ in enumerate(texts):
                try:
                    answer = http.post(
                        JOBS, json={"fileContent": text_, "description": f"soak {number}.{k}"}
                    )
                except httpx.HTTPError as exc:
                    self._record(None, f"POST: {exc!r}")
                    continue
                self._record(answer.status_code, f"POST {answer.text[:200]}")
                if answer.status_code == 201:
                    with self.lock:
                        self.locations.append(
                            JOBS + "/" + answer.headers["Location"].rsplit("/")[-1]
                        )

    def poller(self, number: int) -> None:
        rng = random.Random(number)
        url = self.urls[number % len(self.urls)]
        with httpx.Client(base_url=url, headers=self.headers, timeout=30) as http:
            while not self.done.is_set():
                with self.lock:
                    known = list(self.locations)
                path = (
                    rng.choice(known)
                    if known and rng.random() < 0.75
                    else f"{JOBS}?resultsPerPage=25&sort=createDateTime%20desc"
                )
                started = time.perf_counter()
                try:
                    status: int | None = http.get(path).status_code
                except httpx.HTTPError as exc:
                    status = None
                    path = f"{path}: {exc!r}"
                took = time.perf_counter() - started
                with self.lock:
                    self.result.polls += 1
                    self.result.latencies.append(took)
                self._record(status, f"GET {path}")


def final_count() -> int:
    jobs = table(Job)
    with db.read() as conn:
        return int(
            conn.execute(
                select(func.count()).where(jobs.c.job_state.in_(JobState.FINISHED))
            ).scalar_one()
        )


def check(plan: Plan, result: Result, before: dict[str, int]) -> None:
    """From the database: every job final, one outcome per row, counters equal outcomes, no
    agent renamed twice; and no request got a 5xx."""
    jobs, lines, agents = table(Job), table(JobLine), table(Agent)
    problems = result.problems
    with db.read() as conn:
        rows = conn.execute(
            select(
                jobs.c.id,
                jobs.c.job_state,
                jobs.c.processed_records,
                jobs.c.succeeded_records,
                jobs.c.failed_records,
            )
        ).all()
        outcomes = {
            r.job_id: r
            for r in conn.execute(
                select(
                    lines.c.job_id,
                    func.count().label("n"),
                    func.count(func.distinct(lines.c.line_number)).label("distinct"),
                    func.min(lines.c.line_number).label("first"),
                    func.max(lines.c.line_number).label("last"),
                    func.coalesce(func.sum(cast(lines.c.ok, Integer)), 0).label("ok"),
                ).group_by(lines.c.job_id)
            )
        }
        stamps = {
            r.id: r.change_stamp
            for r in conn.execute(
                select(agents.c.id, agents.c.change_stamp).where(agents.c.sso_enabled)
            )
        }
    result.states = Counter(JobState.NAMES.get(r.job_state, str(r.job_state)) for r in rows)
    if len(rows) != plan.jobs:
        problems.append(f"{len(rows)} jobs stored, {plan.jobs} submitted")
    for r in rows:
        o = outcomes.get(r.id)
        if r.job_state not in JobState.FINISHED:
            problems.append(f"job {r.id} not final (state {r.job_state})")
        if o is None or (o.n, o.distinct, o.first, o.last) != (
            plan.rows,
            plan.rows,
            2,
            plan.rows + 1,
        ):
            problems.append(f"job {r.id}: rows' outcomes {o and tuple(o)} for {plan.rows} rows")
            continue
        if (r.processed_records, r.succeeded_records, r.failed_records) != (o.n, o.ok, o.n - o.ok):
            problems.append(f"job {r.id}: counters {tuple(r)[2:]} but outcomes {o.n}, {o.ok}")
    migrated = sum(o.ok for o in outcomes.values())
    renamed = sum(stamps.get(i, 0) - before.get(i, 0) for i in stamps)
    twice = [i for i in stamps if stamps[i] - before.get(i, 0) > 1]
    if twice:
        problems.append(f"{len(twice)} agents renamed twice, e.g. {twice[:5]}")
    if renamed != migrated:
        problems.append(f"{renamed} agent changes for {migrated} successful rows")
    expected_ok = plan.jobs * plan.rows - ((plan.jobs + 1) // 2) * plan.shared
    if plan.jobs % 2 == 0 and migrated != expected_ok:
        problems.append(f"{migrated} rows succeeded, {expected_ok} expected")
    if any(status >= 500 for status in result.statuses):
        problems.append("5xx answers")
    if result.errors:
        problems.append(f"{len(result.errors)} failed requests, e.g. {result.errors[:3]}")
    result.jobs = len(rows)
    result.rows = sum(o.n for o in outcomes.values())


def run(plan: Plan, database_url: str, work: Path, say: Any = print) -> Result:
    """Set up the nodes, run the load, check; every process is stopped before returning."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    redis_server = RedisServer(work)
    redis_server.start()
    nodes: list[WebNode | Worker] = []
    try:
        app = create_app(
            overrides={
                "data_dir": work,
                "database_url": database_url,
                "broker_url": redis_server.url,
                "secret_key": "soak-secret",
                "host_name": "soak",
                "chunk_size": plan.chunk_size,
                "sweep_seconds": 1.0,
            }
        )
        settings = app.config["SETTINGS"]
        schema.upgrade(settings.database_url)
        started = time.monotonic()
        with db.write() as conn:
            directory.load_demo(conn, plan.directory, seed=15, replace=True)
            users.create_user(conn, "soak", "admin", "soak password 15")
            token = users.create_token(conn, "soak")
        agents = table(Agent)
        with db.read() as conn:
            names = list(
                conn.execute(
                    select(agents.c.user_name)
                    .where(agents.c.sso_enabled.is_(False))
                    .order_by(agents.c.id)
                ).scalars()
            )
            before = {
                r.id: r.change_stamp
                for r in conn.execute(select(agents.c.id, agents.c.change_stamp))
            }
            total = conn.execute(select(func.count()).select_from(agents)).scalar_one()
        say(
            f"directory: {total} agents ({len(names)} not yet on SSO) in "
            f"{time.monotonic() - started:.1f} s"
        )
        texts = job_files(plan, names)
        webs = [
            WebNode(settings, f"web-{n + 1}", work, plan.web_workers) for n in range(plan.web_nodes)
        ]
        nodes.extend(webs)
        workers = [Worker(settings, f"worker-{n + 1}", work) for n in range(plan.workers)]
        nodes.extend(workers)
        for node in nodes:
            node.wait_ready(60)
        say(f"nodes: {len(webs)} web ({', '.join(w.url for w in webs)}), {len(workers)} workers")

        load = Load(plan, [w.url for w in webs], token)
        threads = [
            threading.Thread(target=load.client, args=(c, texts[c :: plan.clients]), daemon=True)
            for c in range(plan.clients)
        ] + [
            threading.Thread(target=load.poller, args=(p,), daemon=True)
            for p in range(plan.pollers)
        ]
        began = time.monotonic()
        for thread in threads:
            thread.start()
        deadline = began + plan.deadline_seconds
        while time.monotonic() < deadline:
            if final_count() >= plan.jobs and not any(
                t.is_alive() for t in threads[: plan.clients]
            ):
                break
            time.sleep(0.2)
        load.result.seconds = time.monotonic() - began
        load.done.set()
        for thread in threads:
            thread.join(timeout=35)
        load.result.poll_seconds = time.monotonic() - began
        if time.monotonic() >= deadline:
            load.result.problems.append(f"not done within {plan.deadline_seconds:.0f} s")
        check(plan, load.result, before)
        return load.result
    finally:
        for node in nodes:
            node.stop()
        redis_server.kill()
        db.dispose()

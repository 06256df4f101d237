"""Many nodes, real faults (docs/operations.md, "Many nodes: load and faults"): workers whose
clocks are two minutes off (Debian's ``faketime``), a poison job that kills its worker at every
run, and the database going away mid-job. Real ``celery worker`` and ``gunicorn`` processes,
PostgreSQL and Redis.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select, text

from app.db import db
from app.db.models import Agent, Job, table
from tests import factories
from tests.conftest import basic, services_unavailable
from tests.e2e.test_reliability import (
    Stack,
    assert_exactly_once,
    big_job,
    build_stack,
    lease_holder,
    redis_server,
    stacks,
)
from tests.live import RedisServer, Worker, wait_for_final

pytestmark = pytest.mark.e2e
__all__ = ["redis_server", "stacks"]  # fixtures, used by name

LEASE_SECONDS = 3
SWEEP_SECONDS = 0.5
# A dead worker's job is resumed within lease + sweep, "plus a few seconds" (docs/operations.md).
RESUMED_WITHIN = LEASE_SECONDS + SWEEP_SECONDS + 5


@pytest.fixture
def faketime() -> None:
    if shutil.which("faketime") is None:
        services_unavailable("Debian's faketime is not installed (apt-get install faketime)")


def owner_token(location: str) -> str | None:
    job_id = int(location.rsplit("/", 1)[1])
    with db.read() as conn:
        owner = conn.execute(select(table(Job).c.lease_owner).where(table(Job).c.id == job_id))
        return owner.scalar()


# 1. Skewed clocks ----------------------------------------------------------------------------


@pytest.mark.usefixtures("faketime")
def test_a_fast_clock_never_takes_over_a_job_whose_owner_is_alive(
    tmp_path: Path, pg_url: str, redis_server: RedisServer, stacks: list[Stack]
) -> None:
    stack = build_stack(
        tmp_path,
        pg_url,
        redis_server.url,
        lease_seconds=LEASE_SECONDS,
        sweep_seconds=SWEEP_SECONDS,
        chunk_size=20,
    )
    stacks.append(stack)
    names, csv_text = big_job(50_000)
    # The owner's clock is two minutes behind: by its own clock its lease ends two minutes
    # before everyone else's "now". The other worker's is two minutes ahead.
    stack.workers.append(slow := Worker(stack.settings, "slow", tmp_path, clock="-120"))
    slow.wait_ready()
    location = stack.post(csv_text, "owner alive")
    stack.wait(location, lambda j: j["jobState"] == 2 and j["processedRecords"] > 0)
    assert lease_holder(location) == "slow"
    stack.workers.append(fast := Worker(stack.settings, "fast", tmp_path, clock="+120"))
    fast.wait_ready()
    ready_at = time.monotonic()
    # The fast worker sweeps every 0.5 s for (at least) a lease and a few sweeps while the job
    # is still running: had it judged the lease on its own clock, it would have taken over.
    job = stack.wait(
        location,
        lambda j: (
            j["jobState"] != 2 or time.monotonic() > ready_at + LEASE_SECONDS + 4 * SWEEP_SECONDS
        ),
        timeout=120,
    )
    assert job["jobState"] == 2, "the job ended before the fast worker had a chance: no test"
    print(f"\nfast clock: sweeping beside a live owner at {job['processedRecords']} lines")
    final = wait_for_final(stack.client, basic(), location, timeout=180)
    assert final["jobState"] == 3
    log = stack.log(location)
    assert "Job resumed on" not in log, [x for x in log.splitlines() if "Job " in x]
    assert "Job started on slow" in log
    assert_exactly_once(stack, location, names)


@pytest.mark.usefixtures("faketime")
@pytest.mark.parametrize(
    ("dead_clock", "survivor_clock"),
    [("+120", None), (None, "-120")],
    ids=["dead-ahead", "survivor-behind"],
)
def test_a_dead_workers_job_resumes_within_lease_and_sweep_whoever_clock_is_off(
    tmp_path: Path,
    pg_url: str,
    redis_server: RedisServer,
    stacks: list[Stack],
    dead_clock: str | None,
    survivor_clock: str | None,
) -> None:
    stack = build_stack(
        tmp_path,
        pg_url,
        redis_server.url,
        lease_seconds=LEASE_SECONDS,
        sweep_seconds=SWEEP_SECONDS,
        chunk_size=50,
    )
    stacks.append(stack)
    names, csv_text = big_job()
    stack.workers.append(doomed := Worker(stack.settings, "doomed", tmp_path, clock=dead_clock))
    doomed.wait_ready()
    location = stack.post(csv_text, "worker dies")
    stack.wait(location, lambda j: j["jobState"] == 2 and j["processedRecords"] > 0)
    stack.workers.append(
        survivor := Worker(stack.settings, "survivor", tmp_path, clock=survivor_clock)
    )
    survivor.wait_ready()
    assert lease_holder(location) == "doomed"
    os.killpg(doomed.process.pid, signal.SIGKILL)
    doomed.process.wait(timeout=10)
    killed_at = time.monotonic()
    try:
        stack.wait(
            location,
            lambda j: lease_holder(location) == "survivor" or j["jobState"] != 2,
            timeout=RESUMED_WITHIN,
        )
    except TimeoutError as exc:
        pytest.fail(f"not resumed within {RESUMED_WITHIN} s of the kill: {exc}")
    resumed_in = time.monotonic() - killed_at
    final = wait_for_final(stack.client, basic(), location, timeout=180)
    assert final["jobState"] == 3
    assert "Job resumed on survivor" in stack.log(location)
    assert_exactly_once(stack, location, names)
    print(
        f"\nclocks {dead_clock or 0}/{survivor_clock or 0}: resumed {resumed_in:.1f} s after kill"
    )


# 2. A poison job -----------------------------------------------------------------------------


def test_a_poison_job_fails_after_max_attempts_and_holds_nothing_up(
    tmp_path: Path, pg_url: str, redis_server: RedisServer, stacks: list[Stack]
) -> None:
    """Every run of the job, past its first chunks, is SIGKILLed before it commits a chunk
    (what an out-of-memory kill or a crashing driver does). A row lock the test holds stops
    each run at the same chunk, so no run after the first can make progress."""
    stack = build_stack(
        tmp_path,
        pg_url,
        redis_server.url,
        lease_seconds=LEASE_SECONDS,
        sweep_seconds=SWEEP_SECONDS,
        chunk_size=50,
    )
    stacks.append(stack)
    names = [f"poison{i:04}" for i in range(1000)]
    with db.write() as conn:
        factories.bulk_agents(conn, [*names, "bystander"])
    workers = {n: stack.worker(n) for n in ("worker-1", "worker-2")}
    admin = create_engine(pg_url)
    locker = admin.connect()
    try:
        locker.begin()
        locker.execute(  # line 502's agent, in the job's 11th chunk
            text("SELECT id FROM agents WHERE user_name = :n FOR UPDATE"), {"n": names[500]}
        )
        location = stack.post(factories.csv_text([[n, "", "", f"{n}@sso"] for n in names]))
        other = None
        previous: str | None = None
        kills = 0
        while True:
            job = stack.wait(
                location,
                lambda j, previous=previous, kills=kills: (
                    j["jobState"] not in (1, 2)
                    or (owner_token(location) not in (None, previous) and blocked(admin) > kills)
                ),
                timeout=60,
            )
            if job["jobState"] not in (1, 2):
                break
            previous = owner_token(location)
            assert previous is not None
            holder = previous.split(":", 1)[0]
            os.killpg(workers[holder].process.pid, signal.SIGKILL)
            workers[holder].process.wait(timeout=10)
            kills += 1
            assert kills <= 6, "still running after 6 kills: the job never gives up"
            workers[holder] = stack.worker(holder)
            if kills == 2:  # a job sent while the poison job goes round runs at once
                other = stack.post(factories.csv_text([["bystander", "", "", "b@sso"]]))
                done = wait_for_final(stack.client, basic(), other, timeout=30)
                assert done["jobState"] == 3
                assert stack.job(location)["jobState"] == 2
    finally:
        locker.rollback()
        locker.close()
        admin.dispose()
    assert other is not None, (job, stack.log(location)[-1500:])
    # The first run committed ten chunks, then five runs in a row died without progress.
    assert kills == 6
    assert job["jobState"] == 4
    assert (job["processedRecords"], job["succeededRecords"]) == (500, 500)
    log = stack.log(location)
    assert log.count("Job resumed on") == 5
    assert f"Job failed: gave up after 5 runs that stopped without progress; last on {holder}" in (
        log
    )
    with db.read() as conn:  # the rows applied stay applied, nothing else was
        migrated = conn.execute(
            select(table(Agent).c.user_name).where(
                table(Agent).c.sso_enabled, table(Agent).c.user_name.like("poison%")
            )
        ).scalars()
        assert sorted(migrated) == [f"{n}@sso" for n in names[:500]]


def blocked(admin: Engine) -> int:
    """Sessions of the test database waiting for a row lock (a killed worker's session waits on
    too: the server notices its client is gone only once the lock is granted)."""
    with admin.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        )

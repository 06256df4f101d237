"""What creating agents needs from the directory, whoever creates them (a SCIM User, a row of
an agent file): agentIds handed out without two transactions giving the same one, and the
peripheral an agent joins when nothing says which (docs/configuration.md,
``SCIM_DEFAULT_PERIPHERAL``)."""

from __future__ import annotations

from sqlalchemy import Connection, Numeric, bindparam, cast, func, select

from app.db.models import Agent, Peripheral, table
from app.db.sql import is_postgres
from app.exceptions import InvalidInput

agents = table(Agent)
peripherals = table(Peripheral)

# Taken while agentIds are handed out or checked (PostgreSQL; SQLite has one writer at a time).
AGENT_ID_LOCK = 0x62756C6B  # "bulk"
MAX_AGENT_ID = 32  # characters of the column; Cisco's agent files allow 11 digits

_PERIPHERAL = select(peripherals.c.id).where(peripherals.c.id == bindparam("id"))
_LOWEST_PERIPHERAL = select(func.min(peripherals.c.id))


def lock_agent_ids(conn: Connection) -> None:
    """On PostgreSQL, hold the lock that hands out agentIds until the transaction ends."""
    if is_postgres(conn):
        conn.execute(select(func.pg_advisory_xact_lock(AGENT_ID_LOCK)))


def peripheral_exists(conn: Connection, peripheral_id: int) -> bool:
    return conn.execute(_PERIPHERAL, {"id": peripheral_id}).first() is not None


def default_peripheral(conn: Connection, configured: int | None) -> int:
    """The configured default peripheral (which must exist), else the lowest; InvalidInput
    when there is none."""
    if configured is not None:
        if not peripheral_exists(conn, configured):
            raise InvalidInput(f"The default peripheral {configured} does not exist", "peripheral")
        return configured
    lowest = conn.execute(_LOWEST_PERIPHERAL).scalar_one()
    if lowest is None:
        raise InvalidInput("No peripheral exists to put the agent on", "peripheral")
    return int(lowest)


class NewAgents:
    """Read once per transaction, then counted on in memory (a SCIM Bulk of 1,000 creates, a
    chunk of an agent file). Use one instance per transaction.

    agentIds: the highest so far + 1 (at least 1000, and above every agentId given explicitly
    in this transaction); on PostgreSQL a transaction-scoped advisory lock keeps concurrent
    creates from handing out the same number (and from both finding an explicit agentId free).
    The default peripheral: the configured one (checked) or the lowest."""

    LOCK_KEY = AGENT_ID_LOCK

    def __init__(self) -> None:
        self._next: int | None = None
        self._floor = 1000
        self._peripheral: int | None = None

    def peripheral(self, conn: Connection, configured: int | None) -> int:
        if self._peripheral is None:
            self._peripheral = default_peripheral(conn, configured)
        return self._peripheral

    def agent_id(self, conn: Connection, max_length: int = MAX_AGENT_ID) -> str:
        """The next free agentId; InvalidInput when it would be longer than ``max_length``."""
        if self._next is None:
            lock_agent_ids(conn)
            highest = conn.execute(
                select(func.max(cast(agents.c.agent_id, Numeric(32, 0))))
            ).scalar_one()
            self._next = int(highest or 0) + 1
        self._next = max(self._next, self._floor)
        number = str(self._next)
        if len(number) > max_length:
            raise InvalidInput(
                "No agentId is left above the highest one; give an agentId", "agentId"
            )
        self._next += 1
        return number

    def saw(self, agent_id: str) -> None:
        """An agentId given explicitly: later ones are counted from above it."""
        self._floor = max(self._floor, int(agent_id) + 1)

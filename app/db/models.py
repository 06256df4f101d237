"""The tables. Times are integer milliseconds since the epoch (UTC), as the API shows them."""

from __future__ import annotations

from typing import ClassVar, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Ids of jobs, agents and teams are never given out twice, not even after their row is deleted
# (clients keep them; RFC 7643 §3.1 for SCIM). SQLite needs AUTOINCREMENT for that (otherwise
# it reuses the highest id once deleted); PostgreSQL's sequences never go back by themselves.
NEVER_REUSED = {"sqlite_autoincrement": True}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class JobState:
    QUEUED = 1
    PROCESSING = 2
    SUCCEEDED = 3
    FAILED = 4
    CANCELLED = 5
    PARTIAL = 6

    ACTIVE = (QUEUED, PROCESSING)
    FINISHED = (SUCCEEDED, FAILED, CANCELLED, PARTIAL)
    NAMES: ClassVar[dict[int, str]] = {
        1: "Queued",
        2: "Processing",
        3: "Succeeded",
        4: "Failed",
        5: "Cancelled",
        6: "Partially succeeded",
    }


class Peripheral(Base):
    __tablename__ = "peripherals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(64))


class AgentTeam(Base):
    """A team of agents; its supervisors are in ``team_supervisors``."""

    __tablename__ = "agent_teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    peripheral_id: Mapped[int] = mapped_column(ForeignKey("peripherals.id"), index=True)
    # The SCIM Group's externalId, set by the provisioning client.
    external_id: Mapped[str | None] = mapped_column(String(255), index=True)
    # When the team was created and last changed (its name, peripheral or members), where known.
    created_ms: Mapped[int | None] = mapped_column(BigInteger)
    modified_ms: Mapped[int | None] = mapped_column(BigInteger)
    # The lower-cased name (``str.lower``), unique: two jobs creating one team make one.
    name_key: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(255), server_default=text("''"))
    change_stamp: Mapped[int] = mapped_column(Integer, server_default="0")
    department_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = NEVER_REUSED


class _Named:
    """What every named object of the contact-center directory has: Cisco's enterprise name
    (docs/directory.md), its lower-cased key (unique per kind), a description, a change stamp."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    name_key: Mapped[str] = mapped_column(String(32), unique=True)
    description: Mapped[str] = mapped_column(String(255), server_default=text("''"))
    change_stamp: Mapped[int] = mapped_column(Integer, server_default="0")


class MediaRoutingDomain(_Named, Base):
    """``Cisco_Voice`` always exists (made by the schema)."""

    __tablename__ = "media_routing_domains"

    # voice, legacyMultichannel or multichannel.
    type: Mapped[str] = mapped_column(String(32), server_default="voice")
    service_level_threshold: Mapped[int | None] = mapped_column(Integer)


class Department(_Named, Base):
    __tablename__ = "departments"


class AgentDeskSetting(_Named, Base):
    """``Default_Agent_Desk_Settings`` always exists (made by the schema)."""

    __tablename__ = "agent_desk_settings"

    agent_state_after_rona: Mapped[str] = mapped_column(String(16), server_default="notReady")
    auto_answer_enabled: Mapped[bool] = mapped_column(Boolean, server_default=false())
    idle_reason_required: Mapped[bool] = mapped_column(Boolean, server_default=false())
    logout_reason_required: Mapped[bool] = mapped_column(Boolean, server_default=false())
    logout_non_activity_time: Mapped[int | None] = mapped_column(Integer)
    work_mode_timer: Mapped[int] = mapped_column(Integer, server_default="7200")


class SkillGroup(_Named, Base):
    __tablename__ = "skill_groups"

    peripheral_id: Mapped[int] = mapped_column(ForeignKey("peripherals.id"), index=True)
    peripheral_number: Mapped[int] = mapped_column(Integer)
    media_routing_domain_id: Mapped[int] = mapped_column(ForeignKey("media_routing_domains.id"))
    # Seconds, or None: the media routing domain's default.
    service_level_threshold: Mapped[int | None] = mapped_column(Integer)
    # 1 ignore abandoned calls, 2 abandoned calls count against, 3 count for; None: default.
    service_level_type: Mapped[int | None] = mapped_column(SmallInteger)
    department_id: Mapped[int | None] = mapped_column(Integer)
    created_ms: Mapped[int | None] = mapped_column(BigInteger)
    modified_ms: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = NEVER_REUSED


class Attribute(_Named, Base):
    __tablename__ = "attributes"

    # 3 Boolean (true/false), 4 Proficiency (1-10).
    data_type: Mapped[int] = mapped_column(SmallInteger)
    default_value: Mapped[str] = mapped_column(String(16))
    department_id: Mapped[int | None] = mapped_column(Integer)
    created_ms: Mapped[int | None] = mapped_column(BigInteger)
    modified_ms: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = NEVER_REUSED


class CallType(_Named, Base):
    """A call type (docs/directory.md): what dialed numbers route calls by."""

    __tablename__ = "call_types"

    # Seconds, or None: the system default.
    service_level_threshold: Mapped[int | None] = mapped_column(Integer)
    # 1 ignore abandoned calls, 2 abandoned calls count against, 3 count for; None: default.
    service_level_type: Mapped[int | None] = mapped_column(SmallInteger)
    department_id: Mapped[int | None] = mapped_column(Integer)
    created_ms: Mapped[int | None] = mapped_column(BigInteger)
    modified_ms: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = NEVER_REUSED


class DialedNumber(Base):
    """A dialed number, named by its string and routing type together (docs/directory.md):
    ``string_key`` (the lower-cased string) is unique per routing type; ``voice_key`` holds the
    same key for the External Voice (1) and Post Call Survey (7) routing types only, unique, so
    those two cannot share a string."""

    __tablename__ = "dialed_numbers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dialed_number_string: Mapped[str] = mapped_column(String(25))
    string_key: Mapped[str] = mapped_column(String(25))
    routing_type: Mapped[int] = mapped_column(SmallInteger)
    voice_key: Mapped[str | None] = mapped_column(String(25), unique=True)
    description: Mapped[str] = mapped_column(String(255), server_default=text("''"))
    change_stamp: Mapped[int] = mapped_column(Integer, server_default="0")
    call_type_id: Mapped[int | None] = mapped_column(ForeignKey("call_types.id"), index=True)
    media_routing_domain_id: Mapped[int] = mapped_column(ForeignKey("media_routing_domains.id"))
    department_id: Mapped[int | None] = mapped_column(Integer)
    created_ms: Mapped[int | None] = mapped_column(BigInteger)
    modified_ms: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (UniqueConstraint("routing_type", "string_key"), NEVER_REUSED)


class Agent(Base):
    """An agent or supervisor. ``user_name_key`` is the lower-cased user name, unique."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(32))
    peripheral_id: Mapped[int] = mapped_column(ForeignKey("peripherals.id"))
    agent_team_id: Mapped[int | None] = mapped_column(ForeignKey("agent_teams.id"))
    first_name: Mapped[str] = mapped_column(String(32), default="")
    last_name: Mapped[str] = mapped_column(String(32), default="")
    user_name: Mapped[str] = mapped_column(String(255))
    user_name_key: Mapped[str] = mapped_column(String(255), unique=True)
    login_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    sso_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    supervisor: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(String(255), default="")
    change_stamp: Mapped[int] = mapped_column(Integer, default=0)
    # SCIM 2.0 (app/scim): the identity provider's id, a display name when one was given, the
    # emails as the JSON list SCIM sent, and the enterprise extension's employeeNumber (free text
    # from an HR system; not the agentId).
    external_id: Mapped[str | None] = mapped_column(String(255), index=True)
    display_name: Mapped[str | None] = mapped_column(String(255))
    emails: Mapped[str | None] = mapped_column(Text)
    employee_number: Mapped[str | None] = mapped_column(String(255))
    # When the agent was created and last changed (SCIM meta), where known (ms since epoch).
    created_ms: Mapped[int | None] = mapped_column(BigInteger)
    modified_ms: Mapped[int | None] = mapped_column(BigInteger)
    # The contact-center settings (docs/job-types/agent.md). Ids without foreign keys: what
    # refers to a desk setting, skill group or department is checked by the code that changes
    # it, as for every reference an agent file names.
    agent_desk_settings_id: Mapped[int | None] = mapped_column(Integer)
    default_skill_group_id: Mapped[int | None] = mapped_column(Integer)
    department_id: Mapped[int | None] = mapped_column(Integer)
    agent_state_trace: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # The agent desktop's password, salted and hashed (never the password itself); None: none
    # set, or SSO-enabled (whose password is not kept).
    password_hash: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        # The template reads agents not yet on SSO in id order. A partial index: migrating an
        # agent removes one entry, where a full (sso_enabled, ...) index would rewrite two on
        # every row of a bulk job. Peripheral and team filters are applied while walking it.
        Index(
            "ix_agents_not_sso",
            "id",
            sqlite_where=text("sso_enabled = 0"),
            postgresql_where=text("sso_enabled = false"),
        ),
        # An agentId is unique on its peripheral (as in Cisco's directory): the check before
        # each explicit agentId is written reads this index.
        Index("ix_agents_peripheral_agent_id", "peripheral_id", "agent_id"),
        NEVER_REUSED,
    )


class AgentSkillGroup(Base):
    """An agent's membership of a skill group."""

    __tablename__ = "agent_skill_groups"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    skill_group_id: Mapped[int] = mapped_column(
        ForeignKey("skill_groups.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AgentAttribute(Base):
    """An agent's value of an attribute (``true``/``false``, or 1-10)."""

    __tablename__ = "agent_attributes"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    attribute_id: Mapped[int] = mapped_column(
        ForeignKey("attributes.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    value: Mapped[str] = mapped_column(String(16))


class TeamSupervisor(Base):
    """A supervisor (an agent with ``supervisor``) of a team."""

    __tablename__ = "team_supervisors"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("agent_teams.id", ondelete="CASCADE"), primary_key=True
    )
    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Job(Base):
    """A bulk job. Its file lives in ``job_files`` so counter updates stay small."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_stamp: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str] = mapped_column(String(255), default="")
    job_type: Mapped[int] = mapped_column(SmallInteger)
    job_state: Mapped[int] = mapped_column(SmallInteger, default=JobState.QUEUED)
    job_host_name: Mapped[str] = mapped_column(String(255), default="")
    created_by: Mapped[str] = mapped_column(String(150), default="")
    create_ms: Mapped[int] = mapped_column(BigInteger)
    start_ms: Mapped[int | None] = mapped_column(BigInteger)
    end_ms: Mapped[int | None] = mapped_column(BigInteger)
    total_records: Mapped[int] = mapped_column(Integer, default=0)
    processed_records: Mapped[int] = mapped_column(Integer, default=0)
    succeeded_records: Mapped[int] = mapped_column(Integer, default=0)
    failed_records: Mapped[int] = mapped_column(Integer, default=0)
    # The worker holding the job and until when; a lease that lapses lets another take over.
    lease_owner: Mapped[str | None] = mapped_column(String(255))
    lease_until_ms: Mapped[int | None] = mapped_column(BigInteger)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # When a "run job N" message was last sent; the sweeper re-sends one the broker lost.
    dispatched_ms: Mapped[int | None] = mapped_column(BigInteger)
    # Runs in a row that ended without committing a chunk (a poison job kills its worker);
    # at BULKJOB_MAX_ATTEMPTS the next claim fails the job.
    runs_without_progress: Mapped[int] = mapped_column(Integer, server_default="0")
    # The base URL the job was submitted to (a SCIM bulk job builds its locations on it).
    origin: Mapped[str | None] = mapped_column(String(255))
    # A dry run decides every record as a real run would and changes nothing
    # (docs/concepts.md, "Dry run").
    dry_run: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # The job this one reverts (docs/concepts.md, "Revert"); unique: a job has at most one revert.
    revert_of: Mapped[int | None] = mapped_column(Integer)
    # Not started before this time (docs/concepts.md, "Scheduled start"); None: as soon as possible.
    start_after_ms: Mapped[int | None] = mapped_column(BigInteger)
    # Where the job's representation is POSTed when it ends
    # (docs/concepts.md, "Notification when a job ends").
    notify_url: Mapped[str | None] = mapped_column(String(2048))
    # The job whose failed or unprocessed lines this one runs again (docs/concepts.md,
    # "Retry"); unique: a job has at most one retry.
    retry_of: Mapped[int | None] = mapped_column(Integer)
    # Stop before the next chunk once this many lines failed (docs/concepts.md, "Stop early").
    stop_after_failures: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_jobs_create_ms", "create_ms", "id"),
        # A jobState: filter reads its page in the list's order (PostgreSQL also has a trigram
        # index on lower(description) for the search, made by revision 0011).
        Index("ix_jobs_state", "job_state", "create_ms", "id"),
        Index("ix_jobs_revert_of", "revert_of", unique=True),
        Index("ix_jobs_retry_of", "retry_of", unique=True),
        NEVER_REUSED,
    )


class JobFile(Base):
    __tablename__ = "job_files"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    # The upload's text encoding: utf-8, utf-8-sig or utf-16.
    encoding: Mapped[str] = mapped_column(String(16))


class JobEvent(Base):
    """A job-level log line (created, started, finished, ...).

    ``after_line`` places it in the log: after the outcome of that line (0: before any).
    """

    __tablename__ = "job_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    at_ms: Mapped[int] = mapped_column(BigInteger)
    after_line: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_job_events_job", "job_id", "id"),)


class JobLine(Base):
    """The one outcome of one data record. The primary key makes a second outcome impossible."""

    __tablename__ = "job_lines"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    line_number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at_ms: Mapped[int] = mapped_column(BigInteger)
    ok: Mapped[bool] = mapped_column(Boolean)
    message: Mapped[str] = mapped_column(Text)
    # A structured result where the job type has one (a SCIM bulk operation's response entry).
    detail: Mapped[str | None] = mapped_column(Text)


class JobTotal(Base):
    """A running total of jobs for /metrics (app/jobs/totals.py): kept, not recomputed."""

    __tablename__ = "job_totals"

    job_type: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class JobNotification(Base):
    """One delivery of a job's end to its ``notify_url``, written with the job's final state.

    ``next_ms`` is when the next try is due (a try moves it on first, so two messages for one
    delivery cannot both send); ``done_ms`` is set once it was sent or gave up.
    """

    __tablename__ = "job_notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    delivery_id: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(String(2048))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_ms: Mapped[int] = mapped_column(BigInteger)
    dispatched_ms: Mapped[int | None] = mapped_column(BigInteger)
    done_ms: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_job_notifications_pending", "done_ms", "next_ms"),
        Index("ix_job_notifications_job", "job_id"),
    )


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    create_ms: Mapped[int] = mapped_column(BigInteger)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # SHA-256 of the token: tokens are long random strings, so a fast hash is enough.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    create_ms: Mapped[int] = mapped_column(BigInteger)
    revoked_ms: Mapped[int | None] = mapped_column(BigInteger)


def table(model: type[Base]) -> Table:
    """The Core table of ``model``, for set-based statements."""
    return cast(Table, model.__table__)

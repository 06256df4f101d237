"""What a dry run of an agent file records for the plan (docs/concepts.md, "Plan"): the fields
a row would change, each as the agent file writes it, before and after. A password never
appears: only that one would be set."""

from __future__ import annotations

import json
from typing import Any

from app.directory import objects
from app.directory.agent_state import AgentState, Chunk, Named
from app.directory.agent_write import Settled

PASSWORD_SET = "(set)"
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


def planned(chunk: Chunk, settled: Settled) -> str | None:
    """The row's changed fields as ``{"changes": [[column, before, after], ...]}``; None for a
    row that changes no field (Unchanged, a delete)."""
    plan = settled.plan
    if settled.word in (objects.UNCHANGED, objects.DELETED) or plan.after is None:
        return None
    names = _Names(chunk)
    after = cells_of(plan.after, names)
    before = dict.fromkeys(after, "") if plan.before is None else cells_of(plan.before, names)
    changes = [[c, before[c], after[c]] for c in after if before[c] != after[c]]
    if plan.password_hash is not None:
        changes.append(["password", "", PASSWORD_SET])
    return _ENCODE({"changes": changes})


class _Names:
    """Names by id from what the chunk's view knows (objects a dry run would create too),
    reverse maps kept in the run's memo and rebuilt when the view has learnt more names."""

    def __init__(self, chunk: Chunk) -> None:
        self.chunk = chunk
        self.cache: dict[str, tuple[int, dict[int, str]]] = chunk.run.memo.setdefault(
            "plan_names", {}
        )

    def __call__(self, kind: str, object_id: int | None) -> str:
        if object_id is None:
            return ""
        known: dict[str, Named] = getattr(self.chunk, kind)
        size, by_id = self.cache.get(kind, (-1, {}))
        if size != len(known) or object_id not in by_id:
            by_id = {named.id: named.name for named in known.values()}
            self.cache[kind] = (len(known), by_id)
        return by_id.get(object_id, str(object_id))


def _bool(value: Any) -> str:
    return "true" if value else "false"


def cells_of(agent: AgentState, name: _Names) -> dict[str, str]:
    """The agent as an agent file's cells (every column but ``operation`` and ``password``)."""
    return {
        "agentId": agent.agent_id,
        "userName": agent.user_name,
        "firstName": agent.first_name,
        "lastName": agent.last_name,
        "loginEnabled": _bool(agent.login_enabled),
        "ssoEnabled": _bool(agent.sso_enabled),
        "description": agent.description,
        "agentStateTrace": _bool(agent.agent_state_trace),
        "agentDeskSettingsName": name("desk_settings", agent.agent_desk_settings_id),
        "agentTeamName": name("teams", agent.agent_team_id),
        "skillGroups": ";".join(sorted(name("groups", g) for g in agent.skill_groups)),
        "defaultSkillGroup": name("groups", agent.default_skill_group_id),
        "attributes": ";".join(
            sorted(f"{name('attributes', a)}={v}" for a, v in agent.attributes.items())
        ),
        "supervisor": _bool(agent.supervisor),
        "supervisorTeams": ";".join(sorted(name("teams", t) for t in agent.supervised)),
        "departmentName": name("departments", agent.department_id),
    }

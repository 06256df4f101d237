"""The paths of the Cisco-compatible API's resources, built here once.

Domain code needs them too (an SSO-migration log line names the agent it updated, a SCIM bulk
job's Location is the job's path), so they live below every layer and import nothing.
"""

from __future__ import annotations

API_BASE = "/unifiedconfig/config"


def job_path(job_id: object) -> str:
    """``/unifiedconfig/config/bulkjob/7``"""
    return f"{API_BASE}/bulkjob/{job_id}"


def agent_path(agent_id: object) -> str:
    """``/unifiedconfig/config/agent/5001``"""
    return f"{API_BASE}/agent/{agent_id}"


def team_path(team_id: object) -> str:
    """``/unifiedconfig/config/agentteam/12``"""
    return f"{API_BASE}/agentteam/{team_id}"


def skill_group_path(skill_group_id: object) -> str:
    """``/unifiedconfig/config/skillgroup/3``"""
    return f"{API_BASE}/skillgroup/{skill_group_id}"


def attribute_path(attribute_id: object) -> str:
    """``/unifiedconfig/config/attribute/4``"""
    return f"{API_BASE}/attribute/{attribute_id}"


def desk_setting_path(desk_setting_id: object) -> str:
    """``/unifiedconfig/config/agentdesksetting/1``"""
    return f"{API_BASE}/agentdesksetting/{desk_setting_id}"


def department_path(department_id: object) -> str:
    """``/unifiedconfig/config/department/2``"""
    return f"{API_BASE}/department/{department_id}"


def media_routing_domain_path(domain_id: object) -> str:
    """``/unifiedconfig/config/mediaroutingdomain/1``"""
    return f"{API_BASE}/mediaroutingdomain/{domain_id}"


def call_type_path(call_type_id: object) -> str:
    """``/unifiedconfig/config/calltype/5``"""
    return f"{API_BASE}/calltype/{call_type_id}"


def dialed_number_path(dialed_number_id: object) -> str:
    """``/unifiedconfig/config/dialednumber/8``"""
    return f"{API_BASE}/dialednumber/{dialed_number_id}"

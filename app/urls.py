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

"""The roles and what each may do, in one place for the API, SCIM and the console
(docs/security.md, "Roles"): admin everything, viewer reads jobs, logs, templates and agents,
supervisor agents only."""

from __future__ import annotations

ROLES = ("admin", "viewer", "supervisor")

# Bulk jobs, their logs and files, and the SSO-migration template.
READ_JOBS = ("admin", "viewer")
WRITE_JOBS = ("admin",)
# The agent directory: the API's /agent and SCIM's Users and Groups.
READ_DIRECTORY = ("admin", "viewer", "supervisor")
WRITE_DIRECTORY = ("admin",)

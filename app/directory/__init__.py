"""The agent directory: agents (Cisco's /agent), the SSO-migration template and its filter
choices, and the demo directory."""

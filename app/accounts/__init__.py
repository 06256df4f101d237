"""Operator accounts: users, roles, API tokens, sign-in, and the failed-sign-in throttle."""

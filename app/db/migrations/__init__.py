"""Alembic migrations, run programmatically by :mod:`app.db.migrate` (``flask init-db``)."""

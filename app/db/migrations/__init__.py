"""Alembic migrations, run programmatically by :mod:`app.services.schema` (``flask init-db``)."""

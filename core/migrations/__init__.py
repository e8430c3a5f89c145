"""Alembic migrations of the Threadline schema."""

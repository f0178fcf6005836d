"""Alembic migrations of the expertpool schema."""

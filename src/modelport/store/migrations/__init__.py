"""Alembic migrations; run with modelport.store.migrate.upgrade_to_head."""

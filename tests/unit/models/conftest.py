"""The store fixtures (SQLite and a real PostgreSQL) and the moto S3 server, shared here."""

from tests.support.postgres import postgres_server, postgres_url
from tests.support.s3 import s3_server
from tests.unit.store.conftest import clock, database_url, endpoint, project, store

__all__ = [
    "clock",
    "database_url",
    "endpoint",
    "postgres_server",
    "postgres_url",
    "project",
    "s3_server",
    "store",
]

"""Persistence: the Store protocol (base.py) and its SQL implementation."""

from modelport.store.engine import make_engine
from modelport.store.repositories import SqlStore, open_store

__all__ = ["SqlStore", "make_engine", "open_store"]

from __future__ import annotations

# The same isolated environment and live API server as the SDK tests.
from tests.unit.sdk.conftest import clean_environment, server

__all__ = ["clean_environment", "server"]

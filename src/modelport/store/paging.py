"""Records of the store's indexed reads: list filters, and what changed since a watermark."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from modelport.domain.records import Endpoint, Replica
from modelport.domain.specs import Framework
from modelport.domain.states import DesiredState

# Endpoint names are DNS labels ([a-z0-9-]): every name with a prefix sorts below prefix + "~".
NAME_PREFIX_END = "~"


@dataclass(frozen=True, slots=True)
class EndpointFilter:
    """Which of a project's endpoints a list shows; every field narrows (empty: all)."""

    name_prefix: str = ""
    desired: DesiredState | None = None
    framework: Framework | None = None
    origin: str | None = None  # the dialect that made it ("" none of them: native)
    only_id: int | None = None  # a token scoped to one endpoint sees only that one
    vendor_id: str | None = None  # the id the origin dialect's clients use (with `origin`)


@dataclass(frozen=True, slots=True)
class ReconcileCandidates:
    """Endpoints the controller must look at: live replicas, changed since the watermark,
    autoscaled, or being deleted. `high_water`: the newest updated_at stored (next `since`)."""

    ids: frozenset[int]
    high_water: datetime | None


@dataclass(frozen=True, slots=True)
class RouteChanges:
    """What the route table must redo since a watermark: the endpoints changed (their own row
    or one of their replicas' state) with all their live replicas, the ids deleted, and the
    project names of those endpoints. `full`: this is everything (no watermark was given)."""

    endpoints: tuple[Endpoint, ...]
    replicas: tuple[Replica, ...]
    deleted: frozenset[int]
    project_names: Mapping[int, str]
    high_water: datetime | None
    full: bool = False
    # Endpoint ids whose rows were re-read, so a route that vanished from `endpoints` (no
    # longer running) is dropped even when it was not deleted.
    touched: frozenset[int] = field(default_factory=frozenset)

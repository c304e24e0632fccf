"""Project quotas (endpoints, replicas, GPUs), judged inside the store's locked transaction.

What counts: every endpoint not being deleted; replicas and GPUs of running endpoints only
(a stopped endpoint runs nothing). An autoscaled endpoint counts its max_replicas. A change is
refused only when it raises a count past its limit, so a project the server admin put over a
new, lower limit can still scale down, stop, or change anything else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from modelport.domain.errors import QuotaExceeded
from modelport.domain.records import Endpoint, Project
from modelport.domain.specs import EndpointSpec
from modelport.domain.states import DesiredState
from modelport.store.base import Admission

# Seconds a client is told to wait: a quota frees up only when someone scales down or deletes.
QUOTA_RETRY_AFTER = 60.0


@dataclass(frozen=True, slots=True)
class Usage:
    endpoints: int = 0
    replicas: int = 0
    gpus: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.endpoints + other.endpoints,
            self.replicas + other.replicas,
            self.gpus + other.gpus,
        )


@dataclass(frozen=True, slots=True)
class _Dimension:
    limit: str  # the ProjectLimits field
    usage: str  # the Usage field
    noun: str
    field: str  # the spec field that drives it, for the error's field
    flag: str  # the CLI flag that raises it


_DIMENSIONS = (
    _Dimension("max_endpoints", "endpoints", "endpoints", "name", "--max-endpoints"),
    _Dimension("max_replicas", "replicas", "replicas", "spec.replicas", "--max-replicas"),
    _Dimension("max_gpus", "gpus", "GPUs", "spec.resources.gpu_count", "--max-gpus"),
)


def endpoint_usage(spec: EndpointSpec, desired: DesiredState) -> Usage:
    if desired is DesiredState.DELETED:
        return Usage()
    if desired is not DesiredState.RUNNING:
        return Usage(endpoints=1)
    replicas = spec.autoscale.max_replicas if spec.autoscale.enabled else spec.replicas
    return Usage(1, replicas, replicas * spec.resources.gpu_count)


def project_usage(endpoints: Sequence[Endpoint]) -> Usage:
    total = Usage()
    for endpoint in endpoints:
        total += endpoint_usage(endpoint.spec, endpoint.desired_state)
    return total


def admit_new(spec: EndpointSpec) -> Admission:
    """Admission of a new (running) endpoint."""

    def admit(project: Project, endpoints: Sequence[Endpoint]) -> None:
        current = project_usage(endpoints)
        check(project, current, current + endpoint_usage(spec, DesiredState.RUNNING))

    return admit


def admit_change(
    endpoint_id: int,
    *,
    spec: EndpointSpec | None = None,
    desired: DesiredState | None = None,
) -> Admission:
    """Admission of a change to one endpoint: its spec, its desired state (None: as stored)."""

    def admit(project: Project, endpoints: Sequence[Endpoint]) -> None:
        current = project_usage(endpoints)
        others = project_usage([e for e in endpoints if e.id != endpoint_id])
        mine = next((e for e in endpoints if e.id == endpoint_id), None)
        if mine is None:
            return  # gone meanwhile: the update itself answers NotFound
        after = endpoint_usage(spec or mine.spec, desired or mine.desired_state)
        check(project, current, others + after)

    return admit


def check(project: Project, before: Usage, after: Usage) -> None:
    """QuotaExceeded for the first limit that `after` passes and that the change raises."""
    for dim in _DIMENSIONS:
        limit = getattr(project.limits, dim.limit)
        now, wanted = getattr(before, dim.usage), getattr(after, dim.usage)
        if limit is None or wanted <= limit or wanted <= now:
            continue
        raise QuotaExceeded(
            f"{dim.field}: project '{project.name}' may have at most {limit} {dim.noun} "
            f"({dim.limit}); it has {now} and this change needs {wanted}. Scale down or delete "
            f"endpoints, or ask the server admin to raise the limit: "
            f"modelport projects set {project.name} {dim.flag} N",
            field=dim.field,
            retry_after=QUOTA_RETRY_AFTER,
        )

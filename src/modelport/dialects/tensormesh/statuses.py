"""Tensormesh's status and event enums from Modelport's endpoint phases and events.

The phase is derived from the replicas by the services (the same one `modelport ls` shows), so
the Tensormesh status never disagrees with the native API; it is only coarser.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from modelport.dialects.tensormesh.schemas import EventType, ModelEvent, ModelStatus
from modelport.domain.records import Event, EventLevel
from modelport.domain.states import EndpointPhase

MODEL_STATUS: Mapping[EndpointPhase, ModelStatus] = {
    EndpointPhase.PENDING: ModelStatus.PENDING,
    EndpointPhase.DEPLOYING: ModelStatus.DEPLOYING,
    EndpointPhase.READY: ModelStatus.UP,
    EndpointPhase.DEGRADED: ModelStatus.UP,  # serving, with fewer replicas than wanted
    EndpointPhase.UPDATING: ModelStatus.UP,  # serving while replicas roll
    # Scaled to zero: still answers (the next request wakes a replica), and `tm infer --model
    # @latest` picks only UP models.
    EndpointPhase.IDLE: ModelStatus.UP,
    EndpointPhase.FAILED: ModelStatus.FAILED,
    EndpointPhase.STOPPING: ModelStatus.STOPPING,
    EndpointPhase.STOPPED: ModelStatus.STOPPED,
    EndpointPhase.DELETING: ModelStatus.DELETING,
}

EVENT_TYPE: Mapping[EventLevel, EventType] = {
    EventLevel.INFO: EventType.INFO,
    EventLevel.WARNING: EventType.WARNING,
    EventLevel.ERROR: EventType.ERROR,
}


def model_status(phase: EndpointPhase) -> ModelStatus:
    return MODEL_STATUS[phase]


def timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with a "Z", as protobuf's Timestamp JSON: "2023-11-07T05:31:56Z"."""
    utc = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    micro = utc.microsecond
    if micro:  # 3 or 6 digits, as protobuf writes them
        text += f".{micro // 1000:03d}" if micro % 1000 == 0 else f".{micro:06d}"
    return text + "Z"


def model_event(event: Event) -> ModelEvent:
    """`log` keeps the machine reason first: "InsufficientCapacity: needs 1x H100; ..."."""
    return ModelEvent(
        created_at=timestamp(event.created_at),
        log=f"{event.reason}: {event.message}",
        event_type=EVENT_TYPE[event.level],
    )


def model_events(events: Sequence[Event]) -> list[ModelEvent]:
    return [model_event(e) for e in events]

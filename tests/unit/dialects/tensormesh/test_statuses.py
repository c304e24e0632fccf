"""Every endpoint phase and event level has a Tensormesh spelling; timestamps are protobuf's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from modelport.dialects.tensormesh.schemas import EventType, ModelStatus
from modelport.dialects.tensormesh.statuses import EVENT_TYPE, model_status, timestamp
from modelport.domain.records import EventLevel
from modelport.domain.states import EndpointPhase


@pytest.mark.parametrize("phase", list(EndpointPhase))
def test_every_phase_has_a_status(phase: EndpointPhase):
    assert model_status(phase) is not ModelStatus.UNSPECIFIED


def test_serving_phases_are_up_and_the_rest_say_why_not():
    # MODEL_STATUS_UP is what Tensormesh's CLI looks for (`tm infer chat --model @latest`).
    # An idle model (autoscaled to zero) answers too: the request wakes a replica.
    serving = {p for p in EndpointPhase if model_status(p) is ModelStatus.UP}
    assert serving == {
        EndpointPhase.READY,
        EndpointPhase.DEGRADED,
        EndpointPhase.UPDATING,
        EndpointPhase.IDLE,
    }
    assert model_status(EndpointPhase.PENDING) is ModelStatus.PENDING
    assert model_status(EndpointPhase.FAILED) is ModelStatus.FAILED
    assert model_status(EndpointPhase.DELETING) is ModelStatus.DELETING


def test_every_event_level_has_a_type():
    assert {EVENT_TYPE[level] for level in EventLevel} == set(EventType) - {EventType.UNSPECIFIED}


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC), "2023-11-07T05:31:56Z"),
        (datetime(2023, 11, 7, 5, 31, 56, 250000, tzinfo=UTC), "2023-11-07T05:31:56.250Z"),
        (datetime(2023, 11, 7, 5, 31, 56, 123456, tzinfo=UTC), "2023-11-07T05:31:56.123456Z"),
        (
            datetime(2023, 11, 7, 7, 31, 56, tzinfo=timezone(timedelta(hours=2))),
            "2023-11-07T05:31:56Z",
        ),
    ],
)
def test_timestamps_are_utc_rfc3339_with_z(moment: datetime, text: str):
    assert timestamp(moment) == text

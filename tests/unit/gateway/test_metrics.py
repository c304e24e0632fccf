"""Gateway metrics: plain counters on the hot path, Prometheus text at scrape time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from modelport.gateway.metrics import CLIENT_CLOSED, UNROUTED, GatewayMetrics


def samples(metrics: GatewayMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.render().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_counters_gauge_and_histogram_render_as_prometheus_text() -> None:
    metrics = GatewayMetrics()
    metrics.started("chat")
    metrics.started("chat")
    metrics.finished("chat", 200, 0.004)
    metrics.answered(UNROUTED, 401, 0.0001)
    metrics.retried("chat")
    seen = samples(metrics)
    chat = (("endpoint", "chat"),)
    assert seen[("modelport_gateway_requests_total", (("code", "200"), *chat))] == 1
    assert seen[("modelport_gateway_requests_total", (("code", "401"), ("endpoint", "")))] == 1
    assert seen[("modelport_gateway_inflight_requests", chat)] == 1
    assert seen[("modelport_gateway_upstream_retries_total", chat)] == 1
    bucket = "modelport_gateway_request_duration_seconds_bucket"
    assert seen[(bucket, (*chat, ("le", "0.0025")))] == 0
    assert seen[(bucket, (*chat, ("le", "0.005")))] == 1
    assert seen[(bucket, (*chat, ("le", "+Inf")))] == 1
    assert seen[("modelport_gateway_request_duration_seconds_count", chat)] == 1
    assert seen[("modelport_gateway_request_duration_seconds_sum", chat)] == 0.004
    # Requests that matched no endpoint are counted but not timed.
    assert not any(name.endswith("_count") and labels == (("endpoint", ""),)
                   for name, labels in seen)  # fmt: skip


def test_a_bound_is_inclusive_and_the_inflight_series_stays_at_zero() -> None:
    metrics = GatewayMetrics()
    metrics.started("e")
    metrics.finished("e", CLIENT_CLOSED, 0.01)
    seen = samples(metrics)
    labels = (("endpoint", "e"), ("le", "0.01"))
    assert seen[("modelport_gateway_request_duration_seconds_bucket", labels)] == 1
    assert seen[("modelport_gateway_inflight_requests", (("endpoint", "e"),))] == 0
    assert seen[("modelport_gateway_requests_total", (("code", "499"), ("endpoint", "e")))] == 1


CHILD = """
import sys
from pathlib import Path
from modelport.gateway.metrics import UNROUTED, GatewayMetrics
metrics = GatewayMetrics(Path(sys.argv[1]))
metrics.started("chat")
metrics.finished("chat", 200, 0.2)
metrics.answered(UNROUTED, 401, 0.001)
metrics.retried("chat")
metrics.started("chat")  # and the process ends with it in flight
"""


def test_with_several_processes_a_scrape_sums_them_all_and_drops_a_gone_ones_gauges(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "metrics"
    here = GatewayMetrics(folder)
    here.started("chat")
    here.finished("chat", 200, 0.004)
    here.started("chat")
    here.hold_started("idle")
    other = subprocess.run([sys.executable, "-c", CHILD, str(folder)], check=True)
    assert other.returncode == 0
    chat = (("endpoint", "chat"),)
    seen = samples(here)
    assert seen[("modelport_gateway_requests_total", (("code", "200"), *chat))] == 2
    assert seen[("modelport_gateway_requests_total", (("code", "401"), ("endpoint", "")))] == 1
    assert seen[("modelport_gateway_upstream_retries_total", chat)] == 1
    assert seen[("modelport_gateway_inflight_requests", chat)] == 2
    assert seen[("modelport_gateway_held_requests", (("endpoint", "idle"),))] == 1
    assert seen[("modelport_gateway_request_duration_seconds_count", chat)] == 2
    assert seen[("modelport_gateway_request_duration_seconds_sum", chat)] == pytest.approx(0.204)
    bucket = "modelport_gateway_request_duration_seconds_bucket"
    assert seen[(bucket, (*chat, ("le", "0.005")))] == 1
    assert seen[(bucket, (*chat, ("le", "0.25")))] == 2
    # The other process is gone: what it had in flight is not, its counters stay.
    pids = {p.name.split("_")[1] for p in folder.glob("gauge_*.db")} - {f"{os.getpid()}.db"}
    assert len(pids) == 1
    GatewayMetrics.process_gone(folder, int(pids.pop().removesuffix(".db")))
    seen = samples(here)
    assert seen[("modelport_gateway_inflight_requests", chat)] == 1
    assert seen[("modelport_gateway_requests_total", (("code", "200"), *chat))] == 2


def test_a_process_with_more_numbers_than_its_first_file_holds_keeps_them_all(
    tmp_path: Path,
) -> None:
    """The files grow (64 KiB at first): numbers written before and after stay right."""
    metrics = GatewayMetrics(tmp_path / "metrics")
    names = [f"endpoint-{i:04d}" for i in range(1500)]
    for name in names:
        metrics.answered(name, 200, 0.01)
    metrics.answered(names[0], 200, 0.01)  # a cell made before the file grew
    seen = samples(metrics)
    assert (
        seen[("modelport_gateway_requests_total", (("code", "200"), ("endpoint", names[0])))] == 2
    )
    assert (
        seen[("modelport_gateway_requests_total", (("code", "200"), ("endpoint", names[-1])))] == 1
    )
    assert sum(v for (n, _), v in seen.items() if n == "modelport_gateway_requests_total") == 1501

"""Gateway metrics: plain counters on the hot path, Prometheus text at scrape time."""

from __future__ import annotations

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

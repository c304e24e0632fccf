"""Prometheus metrics of the gateway, in their own registry (never the process-global one).

Labels stay bounded: `endpoint` is the name of a routed endpoint (requests that match none are
counted under "" so client-chosen names never become label values) and `code` is the HTTP
status. Label children are cached so the hot path does no label-dict lookups under a lock.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

UNROUTED = ""  # endpoint label of requests that matched no endpoint (401, 404, bad input)
CLIENT_CLOSED = 499  # status recorded when the client went away mid-response (nginx's code)

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            "modelport_gateway_requests",
            "Requests answered by the gateway, by endpoint and HTTP status.",
            ["endpoint", "code"],
            registry=self.registry,
        )
        self._inflight = Gauge(
            "modelport_gateway_inflight_requests",
            "Requests being proxied right now, by endpoint.",
            ["endpoint"],
            registry=self.registry,
        )
        self._duration = Histogram(
            "modelport_gateway_request_duration_seconds",
            "Time from request arrival to the last response byte, by endpoint.",
            ["endpoint"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self._retries = Counter(
            "modelport_gateway_upstream_retries",
            "Upstream attempts retried on another replica (refused, reset, disconnected).",
            ["endpoint"],
            registry=self.registry,
        )
        self._inflight_by: dict[str, Gauge] = {}
        self._requests_by: dict[tuple[str, int], Counter] = {}
        self._duration_by: dict[str, Histogram] = {}

    def started(self, endpoint: str) -> None:
        self._inflight_child(endpoint).inc()

    def finished(self, endpoint: str, code: int, seconds: float) -> None:
        """A proxied request ended (started() was called for it)."""
        self._inflight_child(endpoint).dec()
        self.answered(endpoint, code, seconds)

    def answered(self, endpoint: str, code: int, seconds: float) -> None:
        """A request ended: proxied, or answered by the gateway itself."""
        counter = self._requests_by.get((endpoint, code))
        if counter is None:
            counter = self._requests_by[(endpoint, code)] = self._requests.labels(
                endpoint, str(code)
            )
        counter.inc()
        if endpoint != UNROUTED:
            histogram = self._duration_by.get(endpoint)
            if histogram is None:
                histogram = self._duration_by[endpoint] = self._duration.labels(endpoint)
            histogram.observe(seconds)

    def retried(self, endpoint: str) -> None:
        self._retries.labels(endpoint).inc()  # rare: no cache needed

    def render(self) -> bytes:
        """The Prometheus text exposition of this registry."""
        return generate_latest(self.registry)

    def _inflight_child(self, endpoint: str) -> Gauge:
        gauge = self._inflight_by.get(endpoint)
        if gauge is None:
            gauge = self._inflight_by[endpoint] = self._inflight.labels(endpoint)
        return gauge

"""Prometheus metrics, in a registry of their own so several servers can live in one process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class RpcMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "agentos_rpc_duration_seconds",
            "Time to serve an RPC, by method.",
            ["method"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.calls = Counter(
            "agentos_rpc_total",
            "RPCs served, by method and status code.",
            ["method", "code"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "agentos_run_queue_depth", "Daemon runs waiting for a worker.", registry=self.registry
        )
        self.ledger_volume = Counter(
            "agentos_ledger_volume_atomic_total",
            "Money moved through the ledger, in atomic units, by asset and transaction kind.",
            ["asset", "kind"],
            registry=self.registry,
        )
        self._latency_children: dict[str, Histogram] = {}

    def observe(self, method: str, code: str, seconds: float) -> None:
        child = self._latency_children.get(method)
        if child is None:
            child = self._latency_children[method] = self.latency.labels(method)
        child.observe(seconds)
        self.calls.labels(method, code).inc()

    def count_ledger_volume(self, asset: str, kind: str, amount: int) -> None:
        self.ledger_volume.labels(asset, kind).inc(amount)

    def serve_http(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        start_http_server(int(port), addr=host or "127.0.0.1", registry=self.registry)

"""Daemon runs: starting them (runs), executing them (engine, stages), their numbered events
(events), what they cost (costs) and the worker processes that execute them (workers)."""

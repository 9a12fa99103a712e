"""Run events: replay from any sequence, several live subscribers, and a client that reconnects to
a second server replica mid-run without missing or repeating anything."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from agentos.execution.v1 import execution_pb2 as ex

from runkit import assert_gapless, events, get, logs, publish, start
from testkit import AgentHandle, ServerHandle, start_replica

TICKER = """
limits: {max_credits: 20}
inputs:
  - {name: lines, type: number}
  - {name: pause, type: number}
stages:
  - name: Tick
    runtime: python
    script: |
      import time
      for n in range(${lines}):
          print(f"tick {n}", flush=True)
          time.sleep(${pause})
  - name: Done
    runtime: bash
    script: echo done
"""


@pytest.fixture
def replica(server: ServerHandle) -> Iterator[ServerHandle]:
    # With Redis the replica must hear live events over the bus: its database polling is slowed
    # down past the test's deadline, so a broken fan-out fails the test instead of slowing it. With
    # no Redis (SQLite, one process in production) the replica can only poll the database.
    slow_poll = {"event_poll_seconds": 60.0} if server.backend.redis_url else {}
    second = start_replica(server, **slow_poll)
    yield second
    second.stop()


def collect(server: ServerHandle, agent: AgentHandle, name: str, into: list[ex.ExecutionEvent]) -> None:
    into.extend(events(server, agent, name))


def test_subscribers_see_every_event_once_and_replay_from_any_sequence(
    server: ServerHandle, agent: AgentHandle
) -> None:
    daemon = publish(server, agent, TICKER)
    execution = start(server, agent, daemon, {"lines": 25, "pause": 0.02})
    seen: list[list[ex.ExecutionEvent]] = [[], [], []]
    threads = [threading.Thread(target=collect, args=(server, agent, execution.name, into)) for into in seen]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    first = seen[0]
    assert_gapless(first)
    assert all(other == first for other in seen[1:])
    assert logs(first, "Tick") == [f"tick {n}" for n in range(25)]
    assert first[-1].state_changed.state == ex.EXECUTION_STATE_SUCCEEDED
    assert get(server, agent, execution.name).last_sequence == first[-1].sequence

    for after in (0, 1, 10, len(first) - 1):
        assert list(events(server, agent, execution.name, after=after)) == first[after:]


def test_reconnecting_to_another_replica_mid_run_misses_nothing_and_repeats_nothing(
    server: ServerHandle, replica: ServerHandle, agent: AgentHandle
) -> None:
    daemon = publish(server, agent, TICKER)
    execution = start(server, agent, daemon, {"lines": 30, "pause": 0.1})

    # Read from the first replica until a few lines have arrived, then drop the connection.
    before: list[ex.ExecutionEvent] = []
    stream = server.execution.StreamExecutionEvents(
        ex.StreamExecutionEventsRequest(execution=execution.name), metadata=agent.auth, timeout=60
    )
    for response in stream:
        before.append(response.event)
        if len(logs(before, "Tick")) == 5:
            break
    stream.cancel()

    # Resume on the second replica from the last sequence seen.
    after: list[ex.ExecutionEvent] = []
    state_at_first_event = None
    for event in events(replica, agent, execution.name, after=before[-1].sequence, timeout=30):
        if state_at_first_event is None:
            state_at_first_event = get(replica, agent, execution.name).state
        after.append(event)

    combined = before + after
    assert_gapless(combined)
    assert logs(combined, "Tick") == [f"tick {n}" for n in range(30)]
    assert combined[-1].state_changed.state == ex.EXECUTION_STATE_SUCCEEDED
    # The second replica followed the run live, not only replayed it once it had ended.
    assert state_at_first_event == ex.EXECUTION_STATE_RUNNING
    # What each replica sent is what the database holds.
    assert list(events(replica, agent, execution.name)) == combined
    assert list(events(server, agent, execution.name, after=before[-1].sequence)) == after

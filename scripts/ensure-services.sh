#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis answer on loopback before the PostgreSQL suite runs.
# A server that is down is started with the machine's own service commands. Under CI=true a server
# that still does not answer fails the run; elsewhere the PostgreSQL suite reports it and fails too,
# because a suite that skips silently proves nothing.
set -uo pipefail
pg_host=${AGENTOS_TEST_PG_HOST:-127.0.0.1}
pg_port=${AGENTOS_TEST_PG_PORT:-5432}
redis_host=${AGENTOS_TEST_REDIS_HOST:-127.0.0.1}
redis_port=${AGENTOS_TEST_REDIS_PORT:-6379}

pg_up() { pg_isready -q -h "$pg_host" -p "$pg_port" 2>/dev/null || (exec 3<>"/dev/tcp/$pg_host/$pg_port") 2>/dev/null; }
redis_up() { [ "$(redis-cli -h "$redis_host" -p "$redis_port" ping 2>/dev/null)" = "PONG" ]; }

if ! pg_up; then
  echo "PostgreSQL is not answering on $pg_host:$pg_port; starting it"
  if [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
if ! redis_up; then
  echo "Redis is not answering on $redis_host:$redis_port; starting it"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no || true
  for _ in $(seq 1 30); do redis_up && break; sleep 1; done
fi
status=0
pg_up || { echo "ERROR: PostgreSQL is not reachable at $pg_host:$pg_port"; status=1; }
redis_up || { echo "ERROR: Redis is not reachable at $redis_host:$redis_port"; status=1; }
exit $status

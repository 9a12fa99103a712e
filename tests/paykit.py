"""Helpers for the payment tests: money, funding wallets, reading balances, checking the ledger."""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime, timedelta

from agentos.common.v1 import common_pb2
from agentos.payment.v1 import payment_pb2 as pb

from testkit import AgentHandle, ServerHandle

USDC = 1_000_000  # atomic units in one USDC


def usdc(amount: int) -> common_pb2.Money:
    return common_pb2.Money(asset="USDC", amount=amount)


def money(asset: str, amount: int) -> common_pb2.Money:
    return common_pb2.Money(asset=asset, amount=amount)


def key(prefix: str = "k") -> str:
    return f"{prefix}-{secrets.token_hex(8)}"


def fund(
    server: ServerHandle, operator: AgentHandle, agent: AgentHandle, amount: int, asset: str = "USDC"
) -> pb.DepositResponse:
    response: pb.DepositResponse = server.payment.Deposit(
        pb.DepositRequest(
            agent=agent.name,
            amount=money(asset, amount),
            idempotency_key=key("fund"),
            operator=pb.OperatorDepositSource(note="test funding"),
        ),
        metadata=operator.auth,
    )
    return response


def wallet(server: ServerHandle, agent: AgentHandle, asset: str = "USDC") -> pb.Wallet:
    response: pb.GetWalletResponse = server.payment.GetWallet(
        pb.GetWalletRequest(name=f"{agent.name}/wallets/{asset}"), metadata=agent.auth
    )
    return response.wallet


def balances(server: ServerHandle, agent: AgentHandle, asset: str = "USDC") -> tuple[int, int]:
    found = wallet(server, agent, asset)
    return found.available, found.held


def assert_ledger_balanced(server: ServerHandle, operator: AgentHandle) -> pb.CheckLedgerResponse:
    report: pb.CheckLedgerResponse = server.payment.CheckLedger(
        pb.CheckLedgerRequest(), metadata=operator.auth
    )
    assert report.balanced, list(report.problems)
    assert not report.problems
    return report


def set_tier(server: ServerHandle, operator: AgentHandle, agent: AgentHandle, tier: int) -> None:
    server.payment.ChangeSubscription(
        pb.ChangeSubscriptionRequest(
            name=f"{agent.name}/subscription", tier=tier, idempotency_key=key("tier")
        ),
        metadata=operator.auth,
    )


class TravelClock:
    """A clock tests move by hand; thread-safe enough for one server."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 3, 30, 12, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when

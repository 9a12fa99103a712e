"""Property-based: random sequences of deposits, transfers, holds, captures, releases, expiries and
withdrawals through the real server, against a model of what every wallet must hold. After each
step every wallet matches the model, no balance is negative, and CheckLedger finds every balance
equal to the sum of its entries and every transaction summing to zero per asset."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from agentos.common.v1 import common_pb2
from agentos.payment.v1 import payment_pb2 as pb

from paykit import TravelClock, key, usdc
from testkit import AgentHandle, ServerHandle, create_agent, create_operator, failure, start_server

SOLANA_KEY = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"
# Generous limits: this test is about the ledger, not the admission gate.
LIMITS = '{"free": {"monthly_api_calls": 100000000, "burst_per_second": 100000}}'


@dataclass
class World:
    server: ServerHandle
    operator: AgentHandle
    clock: TravelClock


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    clock = TravelClock(datetime(2026, 8, 3, 10, 0, tzinfo=UTC))
    handle = start_server(clock=clock, tiers=LIMITS, hold_sweep_seconds=0.0)
    try:
        yield World(handle, create_operator(handle), clock)
    finally:
        handle.stop()


amounts = st.integers(min_value=1, max_value=1_500)


class LedgerMachine(RuleBasedStateMachine):
    world: World

    def __init__(self) -> None:
        super().__init__()
        self.agents: list[AgentHandle] = []
        self.available: dict[str, int] = {}
        self.held: dict[str, int] = {}
        # hold name -> (agent index, amount)
        self.holds: dict[str, tuple[int, int]] = {}
        # withdrawal name -> (agent index, amount)
        self.withdrawals: dict[str, tuple[int, int]] = {}
        self.last_transfer: tuple[int, pb.TransferRequest, str] | None = None

    @property
    def server(self) -> ServerHandle:
        return self.world.server

    @initialize()
    def make_agents(self) -> None:
        for index in range(3):
            agent = create_agent(self.server, f"prop{index}")
            self.agents.append(agent)
            self.available[agent.name] = 0
            self.held[agent.name] = 0

    def expect_refusal(self, call: object, reason: str) -> None:
        found = failure(call)  # type: ignore[arg-type]
        assert found.code == grpc.StatusCode.FAILED_PRECONDITION, found
        assert found.reason == reason, found

    @rule(who=st.integers(0, 2), amount=amounts)
    def deposit(self, who: int, amount: int) -> None:
        agent = self.agents[who]
        self.server.payment.Deposit(
            pb.DepositRequest(
                agent=agent.name,
                amount=usdc(amount),
                idempotency_key=key(),
                operator=pb.OperatorDepositSource(),
            ),
            metadata=self.world.operator.auth,
        )
        self.available[agent.name] += amount

    @rule(source=st.integers(0, 2), shift=st.integers(1, 2), amount=amounts)
    def transfer(self, source: int, shift: int, amount: int) -> None:
        payer, payee = self.agents[source], self.agents[(source + shift) % 3]
        request = pb.TransferRequest(recipient=payee.name, amount=usdc(amount), idempotency_key=key("t"))
        if amount > self.available[payer.name]:
            self.expect_refusal(
                lambda: self.server.payment.Transfer(request, metadata=payer.auth), "INSUFFICIENT_FUNDS"
            )
            return
        name = self.server.payment.Transfer(request, metadata=payer.auth).transaction.name
        self.available[payer.name] -= amount
        self.available[payee.name] += amount
        self.last_transfer = (source, request, name)

    @precondition(lambda self: self.last_transfer is not None)
    @rule()
    def repeat_last_transfer(self) -> None:
        assert self.last_transfer is not None
        source, request, name = self.last_transfer
        repeated = self.server.payment.Transfer(request, metadata=self.agents[source].auth).transaction
        assert repeated.name == name

    @rule(who=st.integers(0, 2), amount=amounts)
    def hold(self, who: int, amount: int) -> None:
        agent = self.agents[who]
        request = pb.CreateHoldRequest(amount=usdc(amount), purpose="property", idempotency_key=key("h"))
        if amount > self.available[agent.name]:
            self.expect_refusal(
                lambda: self.server.payment.CreateHold(request, metadata=agent.auth), "INSUFFICIENT_FUNDS"
            )
            return
        made = self.server.payment.CreateHold(request, metadata=agent.auth).hold
        self.available[agent.name] -= amount
        self.held[agent.name] += amount
        self.holds[made.name] = (who, amount)

    @precondition(lambda self: bool(self.holds))
    @rule(data=st.data(), to_payee=st.booleans())
    def capture(self, data: st.DataObject, to_payee: bool) -> None:
        name = data.draw(st.sampled_from(sorted(self.holds)))
        who, amount = self.holds.pop(name)
        taken = data.draw(st.integers(1, amount))
        agent = self.agents[who]
        payee = self.agents[(who + 1) % 3] if to_payee else None
        self.server.payment.CaptureHold(
            pb.CaptureHoldRequest(
                name=name, amount=taken, payee=payee.name if payee else "", idempotency_key=key("c")
            ),
            metadata=agent.auth,
        )
        self.held[agent.name] -= amount
        self.available[agent.name] += amount - taken
        if payee is not None:
            self.available[payee.name] += taken

    @precondition(lambda self: bool(self.holds))
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(self.holds)))
        who, amount = self.holds.pop(name)
        agent = self.agents[who]
        self.server.payment.ReleaseHold(
            pb.ReleaseHoldRequest(name=name, idempotency_key=key("r")), metadata=agent.auth
        )
        self.held[agent.name] -= amount
        self.available[agent.name] += amount

    @precondition(lambda self: bool(self.holds))
    @rule()
    def forget_holds_until_they_expire(self) -> None:
        self.world.clock.advance(timedelta(hours=2))
        expired = self.server.run(self.server.runtime.payments.sweep())
        assert expired >= len(self.holds)
        for who, amount in self.holds.values():
            agent = self.agents[who]
            self.held[agent.name] -= amount
            self.available[agent.name] += amount
        self.holds.clear()

    @rule(who=st.integers(0, 2), amount=amounts)
    def withdraw(self, who: int, amount: int) -> None:
        agent = self.agents[who]
        request = pb.WithdrawRequest(
            amount=usdc(amount),
            destination=common_pb2.ExternalWallet(chain=common_pb2.CHAIN_SOLANA, address=SOLANA_KEY),
            idempotency_key=key("w"),
        )
        if amount > self.available[agent.name]:
            self.expect_refusal(
                lambda: self.server.payment.Withdraw(request, metadata=agent.auth), "INSUFFICIENT_FUNDS"
            )
            return
        made = self.server.payment.Withdraw(request, metadata=agent.auth).withdrawal
        self.available[agent.name] -= amount
        self.held[agent.name] += amount
        self.withdrawals[made.name] = (who, amount)

    @precondition(lambda self: bool(self.withdrawals))
    @rule(data=st.data(), complete=st.booleans())
    def resolve_withdrawal(self, data: st.DataObject, complete: bool) -> None:
        name = data.draw(st.sampled_from(sorted(self.withdrawals)))
        who, amount = self.withdrawals.pop(name)
        agent = self.agents[who]
        if complete:
            self.server.payment.CompleteWithdrawal(
                pb.CompleteWithdrawalRequest(name=name, external_reference="0xfeed"),
                metadata=self.world.operator.auth,
            )
        else:
            self.server.payment.RejectWithdrawal(
                pb.RejectWithdrawalRequest(name=name, reason="test"), metadata=self.world.operator.auth
            )
            self.available[agent.name] += amount
        self.held[agent.name] -= amount

    @invariant()
    def wallets_match_the_model(self) -> None:
        for agent in self.agents:
            found = self.server.payment.GetWallet(
                pb.GetWalletRequest(name=f"{agent.name}/wallets/USDC"), metadata=agent.auth
            ).wallet
            assert (found.available, found.held) == (self.available[agent.name], self.held[agent.name])
            assert found.available >= 0
            assert found.held >= 0

    @invariant()
    def ledger_is_balanced(self) -> None:
        if not self.agents:
            return
        report = self.server.payment.CheckLedger(pb.CheckLedgerRequest(), metadata=self.world.operator.auth)
        assert report.balanced, list(report.problems)


def test_random_operation_sequences_keep_the_ledger_exact(world: World) -> None:
    LedgerMachine.world = world
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=8,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            derandomize=False,
        ),
    )

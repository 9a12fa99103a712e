"""The PaymentService's rules: who may move which money, request validation, idempotency, and the
pieces (ledger, budgets, billing, admission gate, hold sweeper) wired together.

`Payments` is what the runtime holds (`runtime.payments`); other services use its parts:
`payments.ledger` (domain/ledger.py: pay, charge, reverse, hold, capture, release),
`payments.idempotency` (domain/idempotency.py), `payments.billing` (credits, tiers, price list,
charge_service) and `payments.gate` (the admission gate the call pipeline consults).

Idempotency: every RPC that moves money (Deposit, Withdraw, Transfer, CreateHold, CaptureHold,
ReleaseHold, BuyCredits, ChangeSubscription) requires an idempotency_key. A repeat with the same
key and the same request returns the resource the first one created (the same transaction, hold or
withdrawal, as it is now; a wallet in the answer shows its current balance). The same key with a
different request fails ALREADY_EXISTS, reason IDEMPOTENCY_KEY_REUSED, field idempotency_key.
A refused request leaves no trace, so it can be retried with its key. CompleteWithdrawal and
RejectWithdrawal carry no key; repeating one with the same reference (or reason) returns the
withdrawal unchanged, anything else on a resolved withdrawal fails WITHDRAWAL_NOT_PENDING.

Holds expire by a sweeper: each server releases holds past their expire_time every
AGENTOS_HOLD_SWEEP_SECONDS (state EXPIRED). Until the sweep reaches it, an expired hold cannot be
captured (HOLD_EXPIRED) and releasing it returns the money at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentos_server.config import ConfigError, Settings
from agentos_server.domain.billing import Billing, PriceList
from agentos_server.domain.budgets import Budgets
from agentos_server.domain.caller import Caller
from agentos_server.domain.clock import Clock
from agentos_server.domain.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unimplemented,
    Violations,
)
from agentos_server.domain.idempotency import Idempotency, request_fingerprint
from agentos_server.domain.ids import new_id, parse_name
from agentos_server.domain.ledger import (
    ACTIVE,
    DEPOSIT,
    EXTERNAL,
    KINDS,
    TRANSFER,
    WITHDRAWAL,
    HoldView,
    Ledger,
    LedgerCheck,
    Line,
    PostedTransaction,
    WalletView,
    platform_account,
    transact,
    wallet_account,
)
from agentos_server.domain.money import (
    CREDIT,
    SOL,
    Asset,
    AssetCatalog,
    Money,
    check_idempotency_key,
    check_money,
)
from agentos_server.domain.pagination import PageTokens, fingerprint, page_size
from agentos_server.domain.quota import ApiGate, ApiUsage
from agentos_server.domain.tiers import TierTable
from agentos_server.domain.validation import check_text
from agentos_server.domain.wallets import ChainFamily, check_wallet
from agentos_server.infra.db import Database
from agentos_server.infra.pg_hot import Claim
from agentos_server.infra.ratelimit import Limiter, MemoryLimiter, RedisLimiter
from agentos_server.infra.redis import RedisKeys, close_redis, create_redis
from agentos_server.infra.sql import table_of
from agentos_server.infra.tables.payment import WithdrawalRow
from agentos_server.infra.tables.registry import AgentRow

log = logging.getLogger("agentos.payments")

_WITHDRAWALS = table_of(WithdrawalRow)
PENDING = "pending"
COMPLETED = "completed"
REJECTED = "rejected"
HOLD_STATES = ("active", "captured", "released", "expired")
WITHDRAWAL_STATES = (PENDING, COMPLETED, REJECTED)

OPERATOR_SOURCE = "operator"
FAUCET_SOURCE = "faucet"
EVM_SOURCE = "evm_transaction"
SOLANA_SOURCE = "solana_transaction"


@dataclass(frozen=True)
class DepositSource:
    # "operator", "faucet", "evm_transaction", "solana_transaction", or "" when none was set.
    kind: str
    note: str = ""


@dataclass(frozen=True)
class WithdrawalView:
    id: str
    agent_id: str
    asset: str
    amount: int
    chain: str
    address: str
    state: str
    hold_id: str
    external_reference: str
    reject_reason: str
    created_at: datetime
    resolved_at: datetime | None

    @property
    def name(self) -> str:
        return f"withdrawals/{self.id}"

    @staticmethod
    def of(row: Any) -> WithdrawalView:
        return WithdrawalView(
            id=row.id,
            agent_id=row.agent_id,
            asset=row.asset,
            amount=row.amount,
            chain=row.destination_chain,
            address=row.destination_address,
            state=row.state,
            hold_id=row.hold_id,
            external_reference=row.external_reference,
            reject_reason=row.reject_reason,
            created_at=row.created_at,
            resolved_at=row.resolved_at,
        )


def _collect(v: Violations, parse: Any, *args: Any) -> Any:
    try:
        return parse(*args)
    except InvalidArgument as error:
        v.extend(error)
        return None


class Payments:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        clock: Clock,
        page_tokens: PageTokens,
        limiter: Limiter,
    ) -> None:
        try:
            assets = AssetCatalog.from_config(settings.extra_assets)
            tiers = TierTable.from_config(settings.tiers)
            prices = PriceList.from_config(settings.service_prices, assets)
            self.ledger = Ledger(
                db,
                clock,
                assets,
                platform_fee_bps=settings.platform_fee_bps,
                hold_default_ttl=timedelta(seconds=settings.hold_default_ttl_seconds),
                hold_max_ttl=timedelta(seconds=settings.hold_max_ttl_seconds),
            )
            self.idempotency = Idempotency("postgresql" if db.is_postgres else "sqlite")
            self.billing = Billing(
                db,
                clock,
                self.ledger,
                tiers,
                prices,
                self.idempotency,
                credit_price_per_1000=settings.credit_price_per_1000,
            )
        except ValueError as error:
            raise ConfigError(str(error)) from error
        if (
            settings.hold_default_ttl_seconds <= 0
            or settings.hold_max_ttl_seconds < settings.hold_default_ttl_seconds
        ):
            raise ConfigError(
                "AGENTOS_HOLD_DEFAULT_TTL_SECONDS must be positive and at most AGENTOS_HOLD_MAX_TTL_SECONDS"
            )
        self.assets = assets
        self.budgets = Budgets(db, clock, assets, page_tokens)
        self.gate = ApiGate(
            limiter, tiers, self.billing.tier_for_admission, clock, settings.tier_cache_seconds
        )
        self.billing.on_tier_change = self.gate.forget
        self._settings = settings
        self._db = db
        self._clock = clock
        self._tokens = page_tokens
        self._redis: Any = None
        self._sweeper: asyncio.Task[None] | None = None
        # Agents seen active recently: agent id -> monotonic expiry (payees are checked often).
        self._active: dict[str, float] = {}

    @classmethod
    def open(
        cls,
        settings: Settings,
        db: Database,
        clock: Clock,
        page_tokens: PageTokens,
        volume: Callable[[str, str, int], None] | None = None,
    ) -> Payments:
        """Builds the payment domain on Redis when AGENTOS_REDIS_URL is set, in-process otherwise.
        `volume(asset, kind, amount)` hears how much each posted transaction moved."""
        client = create_redis(settings)
        limiter: Limiter = (
            RedisLimiter(client, RedisKeys(settings.redis_prefix)) if client is not None else MemoryLimiter()
        )
        payments = cls(settings, db, clock, page_tokens, limiter)
        payments._redis = client
        if volume is not None:
            payments.ledger.observer = _volume_observer(volume)
        return payments

    def start_background(self) -> None:
        """Starts the sweeper that expires holds and forgets old idempotency keys."""
        if self._settings.hold_sweep_seconds > 0 and self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_forever(), name="agentos-payments-sweeper")

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._settings.hold_sweep_seconds)
            try:
                await self.sweep()
            except Exception:
                log.exception("payments sweep failed")

    async def sweep(self) -> int:
        """Expires due holds and prunes idempotency keys; returns the number of holds expired."""
        expired = 0
        while True:
            done = await self.ledger.expire_holds(limit=200)
            expired += done
            if done < 200:
                break
        cutoff = self._clock.now() - timedelta(hours=self._settings.idempotency_retention_hours)
        # Possibly many rows: on SQLite not on the event loop's thread (infra/sqlite_driver).
        async with self._db.offloaded_transaction() as session:
            await self.idempotency.prune(session, cutoff)
        if expired:
            log.info("expired holds", extra={"count": expired})
        return expired

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        await self.gate.close()
        await close_redis(self._redis)
        self._redis = None
        await self.ledger.close()

    # --- helpers --------------------------------------------------------------------------------

    async def _require_active_agent(self, agent_id: str, field: str) -> None:
        expiry = self._active.get(agent_id)
        if expiry is not None and expiry > time.monotonic():
            return
        async with self._db.snapshot() as session:
            state = await session.scalar(select(AgentRow.state).where(AgentRow.id == agent_id))
        if state is None:
            raise NotFound(
                f"agents/{agent_id} does not exist", reason="AGENT_NOT_FOUND", metadata={"field": field}
            )
        if state != "active":
            raise FailedPrecondition(
                f"agents/{agent_id} is deactivated and cannot receive money",
                reason="AGENT_DEACTIVATED",
                metadata={"field": field},
            )
        if len(self._active) > 100_000:
            self._active.clear()
        self._active[agent_id] = time.monotonic() + max(self._settings.auth_cache_seconds, 0.0)

    @staticmethod
    def _denied(name: str) -> PermissionDenied:
        return PermissionDenied(f"{name} does not exist or is not yours", reason="NOT_OWNER")

    # --- assets and wallets ---------------------------------------------------------------------

    def list_assets(self) -> list[Asset]:
        return self.assets.all()

    def _parse_wallet(self, caller: Caller, name: str) -> tuple[str, str]:
        parts = name.split("/")
        if len(parts) != 4 or parts[0] != "agents" or parts[2] != "wallets" or not parts[3]:
            raise InvalidArgument(
                "must be a wallet name of the form agents/{agent_id}/wallets/{asset}",
                field="name",
                reason="INVALID_NAME",
            )
        agent_id = parse_name(f"agents/{parts[1]}", "agents")
        caller.require_self_or_operator(agent_id)
        self.assets.require(parts[3], "name")
        return agent_id, parts[3]

    async def get_wallet(self, caller: Caller, name: str) -> WalletView:
        agent_id, asset = self._parse_wallet(caller, name)
        return (await self._wallets(agent_id, [asset], "name"))[0]

    async def list_wallets(
        self, caller: Caller, parent: str, *, size: int, token: str
    ) -> tuple[list[WalletView], str]:
        agent_id = parse_name(parent, "agents", "parent")
        caller.require_self_or_operator(agent_id, "parent")
        limit = page_size(size)
        binding = fingerprint(agent_id)
        cursor = self._tokens.decode("wallets", token, binding)
        offset = int(cursor["offset"]) if cursor is not None else 0
        codes = [a.code for a in self.assets.all()]
        page = codes[offset : offset + limit]
        next_token = ""
        if offset + limit < len(codes):
            next_token = self._tokens.encode("wallets", {"offset": offset + limit}, binding)
        return await self._wallets(agent_id, page, "parent"), next_token

    async def _wallets(self, agent_id: str, assets: list[str], field: str) -> list[WalletView]:
        """The agent's balances; in one read when its subscription is current (the usual case),
        after rolling it otherwise, so that a new month's credits show."""
        async with self._db.snapshot() as session:
            await self._require_agent_in(session, agent_id, field)
            if await self.billing.current(session, agent_id) is not None:
                return await self.ledger.wallets(agent_id, assets, session=session)
        await self.billing.ensure_current(agent_id)
        return await self.ledger.wallets(agent_id, assets)

    async def _require_agent(self, agent_id: str, field: str) -> None:
        async with self._db.snapshot() as session:
            await self._require_agent_in(session, agent_id, field)

    @staticmethod
    async def _require_agent_in(session: AsyncSession, agent_id: str, field: str) -> None:
        # Only whether it exists: loading the row would decode its JSON columns for nothing.
        if await session.scalar(select(AgentRow.id).where(AgentRow.id == agent_id)) is None:
            raise NotFound(
                f"agents/{agent_id} does not exist", reason="AGENT_NOT_FOUND", metadata={"field": field}
            )

    # --- deposits -------------------------------------------------------------------------------

    async def deposit(
        self, caller: Caller, agent: str, amount: Money, source: DepositSource, idempotency_key: str
    ) -> tuple[PostedTransaction, WalletView]:
        if source.kind in (EVM_SOURCE, SOLANA_SOURCE):
            chain = "EVM" if source.kind == EVM_SOURCE else "Solana"
            raise Unimplemented(
                f"deposits proven by an {chain} transaction ({source.kind}) are not verified yet: on-chain "
                "verification is planned work; until then an operator deposits (source.operator), or "
                "enable the development faucet (AGENTOS_FAUCET_ENABLED)",
                metadata={"field": f"source.{source.kind}"},
            )
        v = Violations()
        agent_id = _collect(v, parse_name, agent, "agents", "agent")
        check_money(v, self.assets, amount, "amount")
        check_idempotency_key(v, idempotency_key)
        if source.kind not in (OPERATOR_SOURCE, FAUCET_SOURCE):
            v.add("source", "set one of operator, faucet, evm_transaction or solana_transaction")
        check_text(v, source.note, "operator.note", max_length=500)
        v.raise_if_any()
        if source.kind == OPERATOR_SOURCE:
            caller.require_operator()
        else:
            if not self._settings.faucet_enabled:
                raise FailedPrecondition(
                    "the development faucet is off on this server (AGENTOS_FAUCET_ENABLED)",
                    reason="FAUCET_DISABLED",
                    metadata={"field": "source.faucet"},
                )
            caller.require_self_or_operator(agent_id, "agent")
        await self._require_active_agent(agent_id, "agent")
        transaction_id = new_id()

        async def work(s: AsyncSession) -> tuple[PostedTransaction, WalletView]:
            prior = await self.idempotency.claim(
                s,
                caller=caller.name,
                operation="payment.Deposit",
                key=idempotency_key,
                fingerprint=request_fingerprint(
                    agent_id, amount.asset, amount.amount, source.kind, source.note
                ),
                result=f"transactions/{transaction_id}",
                now=self._clock.now(),
            )
            if prior is not None:
                posted = await self.ledger.get_transaction(prior.removeprefix("transactions/"), session=s)
                assert posted is not None
            else:
                posted = await self.ledger.post(
                    DEPOSIT,
                    [
                        Line(platform_account(EXTERNAL, amount.asset), amount.asset, -amount.amount),
                        Line(wallet_account(agent_id, amount.asset), amount.asset, amount.amount),
                    ],
                    initiator=caller.name,
                    memo=source.note or source.kind,
                    idempotency_key=idempotency_key,
                    transaction_id=transaction_id,
                    session=s,
                )
            return posted, await self.ledger.wallet(agent_id, amount.asset, session=s)

        return await transact(self._db, work)

    # --- transfers ------------------------------------------------------------------------------

    async def transfer(
        self, caller: Caller, recipient: str, amount: Money, memo: str, idempotency_key: str
    ) -> PostedTransaction:
        v = Violations()
        payee = _collect(v, parse_name, recipient, "agents", "recipient")
        check_money(v, self.assets, amount, "amount")
        check_text(v, memo, "memo", max_length=500)
        check_idempotency_key(v, idempotency_key)
        if payee is not None and payee == caller.agent_id:
            v.add("recipient", "must be another agent: a transfer to oneself moves nothing")
        v.raise_if_any()
        await self._require_active_agent(payee, "recipient")
        transaction_id = new_id()
        payer = caller.agent_id
        fingerprint = request_fingerprint(payee, amount.asset, amount.amount, memo)
        # The common case in one round trip on PostgreSQL; anything else takes the path below.
        posted = await self.ledger.try_fast_pay(
            payer,
            payee,
            amount,
            fee_amount=0,
            kind=TRANSFER,
            reference="",
            memo=memo,
            initiator=caller.name,
            budget_scopes=(),
            budgeted=True,
            idempotency_key=idempotency_key,
            transaction_id=transaction_id,
            claim=Claim(
                caller.name,
                "payment.Transfer",
                idempotency_key,
                fingerprint,
                f"transactions/{transaction_id}",
            ),
        )
        if posted is not None:
            return posted

        async def work(s: AsyncSession) -> PostedTransaction:
            prior = await self.idempotency.claim(
                s,
                caller=caller.name,
                operation="payment.Transfer",
                key=idempotency_key,
                fingerprint=fingerprint,
                result=f"transactions/{transaction_id}",
                now=self._clock.now(),
            )
            if prior is not None:
                found = await self.ledger.get_transaction(prior.removeprefix("transactions/"), session=s)
                assert found is not None
                return found
            return await self.ledger.pay(
                payer,
                payee,
                amount,
                kind=TRANSFER,
                memo=memo,
                initiator=caller.name,
                idempotency_key=idempotency_key,
                transaction_id=transaction_id,
                session=s,
            )

        return await transact(self._db, work)

    # --- transactions ---------------------------------------------------------------------------

    async def get_transaction(self, caller: Caller, name: str) -> PostedTransaction:
        transaction_id = parse_name(name, "transactions")
        found = await self.ledger.get_transaction(transaction_id)
        if caller.is_operator:
            if found is None:
                raise NotFound(f"{name} does not exist", reason="TRANSACTION_NOT_FOUND")
            return found
        if found is None or not self.ledger.touches(found, caller.agent_id):
            raise self._denied(name)
        return found

    async def list_transactions(
        self,
        caller: Caller,
        parent: str,
        *,
        asset: str,
        kind: str,
        start: datetime | None,
        end: datetime | None,
        size: int,
        token: str,
    ) -> tuple[list[PostedTransaction], str]:
        v = Violations()
        agent_id = _collect(v, parse_name, parent, "agents", "parent")
        if asset:
            self.assets.check(v, asset, "asset")
        if kind and kind not in KINDS:
            v.add("kind", "is not a transaction kind")
        if start is not None and end is not None and end <= start:
            v.add("end_time", "must be after start_time")
        v.raise_if_any()
        caller.require_self_or_operator(agent_id, "parent")
        limit = page_size(size)
        binding = fingerprint(agent_id, asset, kind, start, end)
        cursor = self._tokens.decode("transactions", token, binding)
        found = await self.ledger.list_transactions(
            agent_id,
            asset=asset,
            kind=kind,
            start=start,
            end=end,
            before_id=str(cursor["id"]) if cursor is not None else None,
            limit=limit + 1,
        )
        next_token = ""
        if len(found) > limit:
            found = found[:limit]
            next_token = self._tokens.encode("transactions", {"id": found[-1].id}, binding)
        return found, next_token

    # --- holds ----------------------------------------------------------------------------------

    async def create_hold(
        self, caller: Caller, amount: Money, purpose: str, ttl_seconds: int, idempotency_key: str
    ) -> HoldView:
        v = Violations()
        check_money(v, self.assets, amount, "amount")
        check_text(v, purpose, "purpose", max_length=200)
        check_idempotency_key(v, idempotency_key)
        max_ttl = int(self.ledger.hold_max_ttl.total_seconds())
        if ttl_seconds < 0 or ttl_seconds > max_ttl:
            v.add("ttl_seconds", f"must be 0 (the server default) to {max_ttl} seconds")
        v.raise_if_any()
        hold_id = new_id()

        async def work(s: AsyncSession) -> HoldView:
            prior = await self.idempotency.claim(
                s,
                caller=caller.name,
                operation="payment.CreateHold",
                key=idempotency_key,
                fingerprint=request_fingerprint(amount.asset, amount.amount, purpose, ttl_seconds),
                result=f"holds/{hold_id}",
                now=self._clock.now(),
            )
            if prior is not None:
                return await self.ledger.get_hold_for_update(s, prior.removeprefix("holds/"))
            return await self.ledger.hold(
                caller.agent_id,
                amount,
                purpose=purpose,
                ttl=timedelta(seconds=ttl_seconds) if ttl_seconds else None,
                hold_id=hold_id,
                initiator=caller.name,
                idempotency_key=idempotency_key,
                session=s,
            )

        return await transact(self._db, work)

    async def _own_hold(self, s: AsyncSession, caller: Caller, name: str, hold_id: str) -> HoldView:
        try:
            hold = await self.ledger.get_hold_for_update(s, hold_id)
        except NotFound:
            if caller.is_operator:
                raise
            raise self._denied(name) from None
        if hold.agent_id != caller.agent_id and not caller.is_operator:
            raise self._denied(name)
        return hold

    async def capture_hold(
        self, caller: Caller, name: str, amount: int, payee_name: str, idempotency_key: str
    ) -> tuple[HoldView, PostedTransaction]:
        v = Violations()
        hold_id = _collect(v, parse_name, name, "holds", "name")
        payee = _collect(v, parse_name, payee_name, "agents", "payee") if payee_name else None
        if amount <= 0:
            v.add("amount", "must be positive; to return the whole hold, call ReleaseHold")
        check_idempotency_key(v, idempotency_key)
        v.raise_if_any()
        if payee is not None:
            await self._require_active_agent(payee, "payee")
        transaction_id = new_id()

        async def work(s: AsyncSession) -> tuple[HoldView, PostedTransaction]:
            hold = await self._own_hold(s, caller, name, hold_id)
            prior = await self.idempotency.claim(
                s,
                caller=caller.name,
                operation="payment.CaptureHold",
                key=idempotency_key,
                fingerprint=request_fingerprint(hold_id, amount, payee),
                result=f"transactions/{transaction_id}",
                now=self._clock.now(),
            )
            if prior is not None:
                posted = await self.ledger.get_transaction(prior.removeprefix("transactions/"), session=s)
                assert posted is not None
                return hold, posted
            return await self.ledger.capture(
                hold_id,
                amount=amount,
                payee=payee,
                initiator=caller.name,
                idempotency_key=idempotency_key,
                transaction_id=transaction_id,
                session=s,
            )

        return await transact(self._db, work)

    async def release_hold(self, caller: Caller, name: str, idempotency_key: str) -> HoldView:
        v = Violations()
        hold_id = _collect(v, parse_name, name, "holds", "name")
        check_idempotency_key(v, idempotency_key)
        v.raise_if_any()

        async def work(s: AsyncSession) -> HoldView:
            hold = await self._own_hold(s, caller, name, hold_id)
            prior = await self.idempotency.claim(
                s,
                caller=caller.name,
                operation="payment.ReleaseHold",
                key=idempotency_key,
                fingerprint=request_fingerprint(hold_id),
                result=f"holds/{hold_id}",
                now=self._clock.now(),
            )
            if prior is not None:
                return hold
            return await self.ledger.release(
                hold_id, initiator=caller.name, idempotency_key=idempotency_key, session=s
            )

        return await transact(self._db, work)

    async def get_hold(self, caller: Caller, name: str) -> HoldView:
        hold_id = parse_name(name, "holds")
        hold = await self.ledger.get_hold(hold_id)
        if hold is None and caller.is_operator:
            raise NotFound(f"{name} does not exist", reason="HOLD_NOT_FOUND")
        if hold is None or (hold.agent_id != caller.agent_id and not caller.is_operator):
            raise self._denied(name)
        return hold

    async def list_holds(
        self, caller: Caller, parent: str, *, state: str, size: int, token: str
    ) -> tuple[list[HoldView], str]:
        agent_id = parse_name(parent, "agents", "parent")
        caller.require_self_or_operator(agent_id, "parent")
        if state and state not in HOLD_STATES:
            raise InvalidArgument("is not a hold state", field="state")
        limit = page_size(size)
        binding = fingerprint(agent_id, state)
        cursor = self._tokens.decode("holds", token, binding)
        found = await self.ledger.list_holds(
            agent_id,
            state=state or None,
            before_id=str(cursor["id"]) if cursor is not None else None,
            limit=limit + 1,
        )
        next_token = ""
        if len(found) > limit:
            found = found[:limit]
            next_token = self._tokens.encode("holds", {"id": found[-1].id}, binding)
        return found, next_token

    # --- withdrawals ----------------------------------------------------------------------------

    async def withdraw(
        self,
        caller: Caller,
        amount: Money,
        chain: ChainFamily | None,
        address: str,
        idempotency_key: str,
    ) -> WithdrawalView:
        v = Violations()
        check_money(v, self.assets, amount, "amount")
        check_idempotency_key(v, idempotency_key)
        destination = check_wallet(v, chain, address, "destination")
        if amount.asset == CREDIT:
            v.add("amount.asset", "execution credits stay on the platform; they cannot be withdrawn")
        if amount.asset == SOL and destination is not None and destination.chain is not ChainFamily.SOLANA:
            v.add("destination.chain", "SOL is paid out to a Solana address")
        v.raise_if_any()
        assert destination is not None
        withdrawal_id = new_id()

        async def work(s: AsyncSession) -> WithdrawalView:
            now = self._clock.now()
            prior = await self.idempotency.claim(
                s,
                caller=caller.name,
                operation="payment.Withdraw",
                key=idempotency_key,
                fingerprint=request_fingerprint(
                    amount.asset, amount.amount, destination.chain.value, destination.address
                ),
                result=f"withdrawals/{withdrawal_id}",
                now=now,
            )
            if prior is not None:
                return await self._load_withdrawal(s, prior.removeprefix("withdrawals/"))
            hold = await self.ledger.hold(
                caller.agent_id,
                amount,
                purpose="withdrawal",
                reference=f"withdrawals/{withdrawal_id}",
                expires=False,
                budgeted=False,
                initiator=caller.name,
                idempotency_key=idempotency_key,
                session=s,
            )
            values = {
                "id": withdrawal_id,
                "agent_id": caller.agent_id,
                "asset": amount.asset,
                "amount": amount.amount,
                "destination_chain": destination.chain.value,
                "destination_address": destination.address,
                "state": PENDING,
                "hold_id": hold.id,
                "external_reference": "",
                "reject_reason": "",
                "created_at": now,
                "resolved_at": None,
            }
            await (await s.connection()).execute(insert(_WITHDRAWALS), values)
            return WithdrawalView.of(_Row(values))

        return await transact(self._db, work)

    async def _load_withdrawal(
        self, s: AsyncSession, withdrawal_id: str, *, lock: bool = False
    ) -> WithdrawalView:
        query = select(_WITHDRAWALS).where(_WITHDRAWALS.c.id == withdrawal_id)
        if lock and self._db.is_postgres:
            query = query.with_for_update()
        row = (await s.execute(query)).first()
        if row is None:
            raise NotFound(
                f"withdrawals/{withdrawal_id} does not exist",
                reason="WITHDRAWAL_NOT_FOUND",
                metadata={"field": "name"},
            )
        return WithdrawalView.of(row)

    async def get_withdrawal(self, caller: Caller, name: str) -> WithdrawalView:
        withdrawal_id = parse_name(name, "withdrawals")
        async with self._db.snapshot() as s:
            try:
                found = await self._load_withdrawal(s, withdrawal_id)
            except NotFound:
                if caller.is_operator:
                    raise
                raise self._denied(name) from None
        if found.agent_id != caller.agent_id and not caller.is_operator:
            raise self._denied(name)
        return found

    async def list_withdrawals(
        self, caller: Caller, parent: str, *, state: str, size: int, token: str
    ) -> tuple[list[WithdrawalView], str]:
        if parent == "agents/-":
            caller.require_operator()
            agent_id = None
        else:
            agent_id = parse_name(parent, "agents", "parent")
            caller.require_self_or_operator(agent_id, "parent")
        if state and state not in WITHDRAWAL_STATES:
            raise InvalidArgument("is not a withdrawal state", field="state")
        limit = page_size(size)
        binding = fingerprint(agent_id, state)
        cursor = self._tokens.decode("withdrawals", token, binding)
        query = select(_WITHDRAWALS)
        if agent_id is not None:
            query = query.where(_WITHDRAWALS.c.agent_id == agent_id)
        if state:
            query = query.where(_WITHDRAWALS.c.state == state)
        if cursor is not None:
            query = query.where(_WITHDRAWALS.c.id < str(cursor["id"]))
        query = query.order_by(_WITHDRAWALS.c.id.desc()).limit(limit + 1)
        async with self._db.snapshot() as s:
            found = [WithdrawalView.of(row) for row in (await s.execute(query)).all()]
        next_token = ""
        if len(found) > limit:
            found = found[:limit]
            next_token = self._tokens.encode("withdrawals", {"id": found[-1].id}, binding)
        return found, next_token

    async def complete_withdrawal(self, caller: Caller, name: str, external_reference: str) -> WithdrawalView:
        caller.require_operator()
        v = Violations()
        withdrawal_id = _collect(v, parse_name, name, "withdrawals", "name")
        if not external_reference.strip():
            v.add("external_reference", "is required: the payout's transaction hash or bank reference")
        check_text(v, external_reference, "external_reference", max_length=200)
        v.raise_if_any()

        async def work(s: AsyncSession) -> WithdrawalView:
            now = self._clock.now()
            found = await self._load_withdrawal(s, withdrawal_id, lock=True)
            if found.state == COMPLETED and found.external_reference == external_reference:
                return found
            self._require_pending(found)
            await self.ledger.capture(
                found.hold_id,
                amount=found.amount,
                kind=WITHDRAWAL,
                platform_kind=EXTERNAL,
                initiator=caller.name,
                memo=f"paid out to {found.chain}:{found.address} ({external_reference})",
                reference=found.name,
                session=s,
            )
            await s.execute(
                update(_WITHDRAWALS)
                .where(_WITHDRAWALS.c.id == withdrawal_id)
                .values(state=COMPLETED, external_reference=external_reference, resolved_at=now)
            )
            return await self._load_withdrawal(s, withdrawal_id)

        return await transact(self._db, work)

    async def reject_withdrawal(self, caller: Caller, name: str, reason: str) -> WithdrawalView:
        caller.require_operator()
        v = Violations()
        withdrawal_id = _collect(v, parse_name, name, "withdrawals", "name")
        if not reason.strip():
            v.add("reason", "is required: tell the agent why")
        check_text(v, reason, "reason", max_length=500)
        v.raise_if_any()

        async def work(s: AsyncSession) -> WithdrawalView:
            now = self._clock.now()
            found = await self._load_withdrawal(s, withdrawal_id, lock=True)
            if found.state == REJECTED and found.reject_reason == reason:
                return found
            self._require_pending(found)
            await self.ledger.release(found.hold_id, initiator=caller.name, session=s)
            await s.execute(
                update(_WITHDRAWALS)
                .where(_WITHDRAWALS.c.id == withdrawal_id)
                .values(state=REJECTED, reject_reason=reason, resolved_at=now)
            )
            return await self._load_withdrawal(s, withdrawal_id)

        return await transact(self._db, work)

    @staticmethod
    def _require_pending(found: WithdrawalView) -> None:
        if found.state != PENDING:
            raise FailedPrecondition(
                f"{found.name} is {found.state}, not pending", reason="WITHDRAWAL_NOT_PENDING"
            )

    # --- API usage ------------------------------------------------------------------------------

    async def api_usage(self, caller: Caller, agent: str) -> ApiUsage:
        agent_id = parse_name(agent, "agents", "agent")
        caller.require_self_or_operator(agent_id, "agent")
        await self._require_agent(agent_id, "agent")
        await self.billing.ensure_current(agent_id)
        return await self.gate.usage(agent_id)

    # --- audit ----------------------------------------------------------------------------------

    async def check_ledger(self, caller: Caller) -> LedgerCheck:
        caller.require_operator()
        return await self.ledger.check()


def _volume_observer(volume: Callable[[str, str, int], None]) -> Callable[[PostedTransaction], None]:
    def observe(posted: PostedTransaction) -> None:
        moved: dict[str, int] = {}
        for entry in posted.entries:
            if entry.amount > 0:
                moved[entry.asset] = moved.get(entry.asset, 0) + entry.amount
        for asset, amount in moved.items():
            volume(asset, posted.kind, amount)

    return observe


class _Row:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


__all__ = ["ACTIVE", "DepositSource", "Payments", "WithdrawalView"]

"""The ledger: double-entry bookkeeping of every asset AgentOS holds for agents.

Model
-----
An *account* is one balance of one asset:

    agents/{agent_id}/wallets/{asset}        an agent's available money (never negative)
    agents/{agent_id}/wallets/{asset}/held   reserved by holds and pending withdrawals (never negative)
    platform/fees/{asset}                    marketplace fees the platform earned
    platform/revenue/{asset}                 what agents paid the platform itself (usage, credits, tiers)
    platform/escrow/{asset}                  money parked between parties (never negative)
    platform/external/{asset}                the world outside: deposits come from it, withdrawals go to it;
                                             its negative balance is what the platform owes agents
    platform/issuance/{asset}                where granted credits come from (negative: credits issued)

A *transaction* is a list of entries (account, asset, signed amount) whose amounts sum to zero per
asset; it is immutable. Balances are stored on the account rows for speed and always equal the sum
of the account's entries; `check()` (the CheckLedger RPC) recomputes every one of them.

Domain API (Marketplace, Execution and the Payment RPCs call these; `runtime.payments.ledger`)
--------------------------------------------------------------------------------------------
Every operation takes `session=`: pass your own AsyncSession (from `db.transaction()`) and the
ledger writes inside your transaction, so your purchase row, its licence and its ledger
transaction commit or roll back together. Leave it out and the operation runs in a transaction of
its own (retried when PostgreSQL reports a deadlock; a plain pay() on PostgreSQL first tries the
one-statement hot path of infra/ledger_pg.py). A DomainError from an operation means your
transaction must be rolled back, which leaving the `async with db.transaction()` block by the
exception does; nothing has moved then. Validation errors come before any write; budget errors
before any balance changes.

    post(kind, lines: Sequence[Line], *, initiator="system", memo="", reference="", reverses=None,
         idempotency_key="", transaction_id=None, session=None) -> PostedTransaction
        any balanced transaction (adjustments, escrow, custom flows); lines sum to zero per asset.
    pay(payer, payee, amount: Money, *, fee=None, kind=PURCHASE, reference="", memo="",
        initiator=None, budget_scopes=(), budgeted=True, idempotency_key="", transaction_id=None,
        session=None) -> PostedTransaction
        ONE transaction: payer -amount, payee +(amount - fee), platform/fees +fee; payee None pays
        platform/revenue. fee: Fee(basis_points=...), Fee(amount=...) or ledger.platform_fee()
        (AGENTOS_PLATFORM_FEE_BPS). Counts against the payer's agent-wide budgets and those of
        budget_scopes ("skills/{id}", "daemons/{id}") unless budgeted=False.
    charge(agent, amount: Money, *, kind=USAGE_CHARGE, payee=None, fee=None, budget_scopes=(),
           reference="", memo="", initiator=None, idempotency_key="", transaction_id=None,
           session=None) -> PostedTransaction
        pay() with the defaults of a metered charge (a skill call, a run's cost, a service price;
        Billing.charge_service(agent_id, service, quantity, ...) prices one from the price list).
    reverse(transaction_id, *, kind=REFUND, initiator="system", memo="", reference="",
            idempotency_key="", new_transaction_id=None, session=None) -> PostedTransaction
        the exact negation of a transaction (a refund in full), at most once per transaction;
        entries on a held account come back to the matching available account, so a capture can be
        reversed too. INSUFFICIENT_FUNDS if a recipient has already spent its share.
    hold(agent, amount: Money, *, purpose="", reference="", ttl: timedelta | None = None,
         expires=True, budget_scopes=(), budgeted=True, hold_id=None, initiator=None,
         idempotency_key="", session=None) -> HoldView
        moves `amount` from available to held and reserves budget for all of it.
    capture(hold_id, *, amount: int, payee=None, fee=None, kind=CAPTURE, platform_kind=REVENUE,
            initiator="system", memo="", reference="", idempotency_key="", transaction_id=None,
            session=None) -> tuple[HoldView, PostedTransaction]
        takes 0..held (to payee, with an optional platform fee, or to platform/{platform_kind});
        the rest returns to the wallet and to the budgets, in the same transaction.
    release(hold_id, *, initiator="system", idempotency_key="", session=None) -> HoldView
    get_hold_for_update(session, hold_id) -> HoldView            the hold, row-locked, in your transaction
    expire_holds(limit=200) -> int                               releases active holds past expire_time
    wallet(agent_id, asset, *, session=None) / wallets(agent_id, assets=None, *, session=None)
        -> WalletView (available, held)
    balance(account, *, session=None) -> int
    get_transaction(transaction_id, *, session=None) / list_transactions(agent_id, ...) / check()

Amounts are `Money(asset, amount)` in atomic units; agents are ids ("alice", not "agents/alice").
Credits: before CREDIT leaves an agent's wallet the ledger asks its CreditPolicy (domain/billing.py)
to bring the subscription to the current month (granting its credits); an agent whose tier has
unlimited credits has the debit minted from platform/issuance in the same transaction.
Idempotency for your own operations: domain/idempotency.py.

Errors: INSUFFICIENT_FUNDS, BALANCE_LIMIT, HOLD_NOT_ACTIVE, HOLD_EXPIRED, ALREADY_REVERSED,
NOT_REVERSIBLE (FAILED_PRECONDITION); BUDGET_EXCEEDED (RESOURCE_EXHAUSTED, with the period's end as
retry delay); AGENT_NOT_FOUND, HOLD_NOT_FOUND, TRANSACTION_NOT_FOUND (NOT_FOUND);
CAPTURE_EXCEEDS_HOLD, INVALID_AMOUNT, UNBALANCED_TRANSACTION, UNKNOWN_ACCOUNT, UNKNOWN_ASSET
(INVALID_ARGUMENT).

Concurrency
-----------
A balance changes only through one conditional statement,
`UPDATE ledger_accounts SET balance = balance + :delta WHERE name = :account AND balance BETWEEN
:low AND :high RETURNING balance`, whose bounds (computed in Python, so nothing overflows) keep
agent accounts non-negative and every balance inside a signed 64-bit integer. Under PostgreSQL's
READ COMMITTED the WHERE clause is re-checked on the newest row version after a concurrent
writer commits, so there are no lost updates and no overdrafts; a failed bound matches no row and
the operation raises. Within one ledger transaction the accounts are updated in ascending name
order (every agent account sorts before every platform account), after the hold row and the budget
rows, so two transfers in opposite directions lock in the same order and cannot deadlock. Several
ledger transactions in one database transaction (say a grant, then a charge) each keep that order
but not across each other; should PostgreSQL find a deadlock it aborts one transaction, which
`transact()` runs again. SQLite has one writer (infra/db.py) and needs nothing more; the CHECK
constraint on ledger_accounts is the last line of defence on both.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from agentos_server.domain.budgets import BudgetCharge, BudgetGuard
from agentos_server.domain.clock import Clock
from agentos_server.domain.errors import (
    Aborted,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from agentos_server.domain.ids import new_id
from agentos_server.domain.money import CREDIT, MAX_AMOUNT, MAX_BALANCE, AssetCatalog, Money, fee_for
from agentos_server.infra.db import Database
from agentos_server.infra.ledger_pg import PgPoster
from agentos_server.infra.pg_hot import BalanceChange, Claim, EntryRow
from agentos_server.infra.sql import insert_ignoring_conflicts, is_retryable, table_of
from agentos_server.infra.tables.payment import (
    UNBOUNDED_KINDS,
    HoldRow,
    LedgerAccountRow,
    LedgerEntryRow,
    LedgerTransactionRow,
)
from agentos_server.infra.tables.registry import AgentRow

log = logging.getLogger("agentos.ledger")

T = TypeVar("T")

# Transaction kinds (TransactionKind in the contract, lower-case).
DEPOSIT = "deposit"
WITHDRAWAL = "withdrawal"
TRANSFER = "transfer"
PURCHASE = "purchase"
REFUND = "refund"
HOLD = "hold"
CAPTURE = "capture"
RELEASE = "release"
CREDIT_PURCHASE = "credit_purchase"
CREDIT_GRANT = "credit_grant"
USAGE_CHARGE = "usage_charge"
SUBSCRIPTION = "subscription"
ADJUSTMENT = "adjustment"
KINDS = (
    DEPOSIT,
    WITHDRAWAL,
    TRANSFER,
    PURCHASE,
    REFUND,
    HOLD,
    CAPTURE,
    RELEASE,
    CREDIT_PURCHASE,
    CREDIT_GRANT,
    USAGE_CHARGE,
    SUBSCRIPTION,
    ADJUSTMENT,
)
_NOT_REVERSIBLE = frozenset({HOLD, RELEASE, REFUND})

# Account kinds.
AVAILABLE = "available"
HELD = "held"
FEES = "fees"
REVENUE = "revenue"
ESCROW = "escrow"
EXTERNAL = "external"
ISSUANCE = "issuance"
PLATFORM_KINDS = (FEES, REVENUE, ESCROW, EXTERNAL, ISSUANCE)

# Hold states.
ACTIVE = "active"
CAPTURED = "captured"
RELEASED = "released"
EXPIRED = "expired"

SYSTEM = "system"

_ACCOUNTS = table_of(LedgerAccountRow)
_TRANSACTIONS = table_of(LedgerTransactionRow)
_ENTRIES = table_of(LedgerEntryRow)
_HOLDS = table_of(HoldRow)


def wallet_account(agent_id: str, asset: str) -> str:
    return f"agents/{agent_id}/wallets/{asset}"


def held_account(agent_id: str, asset: str) -> str:
    return f"agents/{agent_id}/wallets/{asset}/held"


def platform_account(kind: str, asset: str) -> str:
    return f"platform/{kind}/{asset}"


@dataclass(frozen=True)
class AccountRef:
    name: str
    agent_id: str | None
    asset: str
    kind: str

    @property
    def bounded(self) -> bool:
        """Whether the balance must stay at or above zero."""
        return self.kind not in UNBOUNDED_KINDS


def parse_account(name: str) -> AccountRef | None:
    parts = name.split("/")
    if len(parts) in (4, 5) and parts[0] == "agents" and parts[2] == "wallets" and parts[1] and parts[3]:
        if len(parts) == 5 and parts[4] != "held":
            return None
        return AccountRef(name, parts[1], parts[3], HELD if len(parts) == 5 else AVAILABLE)
    if len(parts) == 3 and parts[0] == "platform" and parts[1] in PLATFORM_KINDS and parts[2]:
        return AccountRef(name, None, parts[2], parts[1])
    return None


@dataclass(frozen=True)
class Line:
    """One entry of a transaction: positive credits the account, negative debits it."""

    account: str
    asset: str
    amount: int


@dataclass(frozen=True)
class Fee:
    """The platform's cut of a payment: basis points of the amount (rounded down) or an amount."""

    basis_points: int | None = None
    amount: int | None = None

    def of(self, gross: int) -> int:
        if self.amount is not None:
            return self.amount
        return fee_for(gross, self.basis_points or 0)


@dataclass(frozen=True)
class PostedTransaction:
    id: str
    kind: str
    entries: tuple[Line, ...]
    memo: str
    initiator: str
    idempotency_key: str
    reference: str
    reverses: str | None
    created_at: datetime

    @property
    def name(self) -> str:
        return f"transactions/{self.id}"


@dataclass(frozen=True)
class HoldView:
    id: str
    agent_id: str
    asset: str
    amount: int
    captured_amount: int
    state: str
    purpose: str
    reference: str
    expires_at: datetime | None
    created_at: datetime
    resolved_at: datetime | None
    hold_transaction_id: str
    resolve_transaction_id: str | None
    budget_charges: tuple[BudgetCharge, ...] = ()

    @property
    def name(self) -> str:
        return f"holds/{self.id}"

    @staticmethod
    def of(row: Any) -> HoldView:
        return HoldView(
            id=row.id,
            agent_id=row.agent_id,
            asset=row.asset,
            amount=row.amount,
            captured_amount=row.captured_amount,
            state=row.state,
            purpose=row.purpose,
            reference=row.reference,
            expires_at=row.expires_at,
            created_at=row.created_at,
            resolved_at=row.resolved_at,
            hold_transaction_id=row.hold_transaction_id,
            resolve_transaction_id=row.resolve_transaction_id,
            budget_charges=tuple(BudgetCharge.from_json(c) for c in (row.budget_charges or [])),
        )


@dataclass(frozen=True)
class WalletView:
    agent_id: str
    asset: str
    available: int
    held: int
    updated_at: datetime | None

    @property
    def name(self) -> str:
        return f"agents/{self.agent_id}/wallets/{self.asset}"


@dataclass
class LedgerCheck:
    accounts_checked: int = 0
    transactions_checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class PreparedPayment:
    posted: PostedTransaction
    changes: list[BalanceChange]
    entries: list[EntryRow]

    @property
    def transaction_row(self) -> dict[str, Any]:
        posted = self.posted
        return {
            "id": posted.id,
            "kind": posted.kind,
            "initiator": posted.initiator,
            "memo": posted.memo,
            "idempotency_key": posted.idempotency_key,
            "reference": posted.reference,
        }


class InsufficientFunds(FailedPrecondition):
    def __init__(self, account: str, asset: str, balance: int, needed: int) -> None:
        super().__init__(
            f"{account} has {balance} available and this needs {needed} (atomic units of {asset})",
            reason="INSUFFICIENT_FUNDS",
            metadata={"account": account, "asset": asset, "available": str(balance), "needed": str(needed)},
        )


class CreditPolicy(Protocol):
    """Consulted before execution credits leave an agent's wallet (domain/billing.py)."""

    async def before_credit_debit(self, session: AsyncSession, agent_id: str, now: datetime) -> bool:
        """Brings the agent's subscription period up to date (granting this month's credits) and
        says whether its tier has unlimited credits, in which case the debit is minted."""
        ...


async def transact(db: Database, work: Callable[[AsyncSession], Awaitable[T]], attempts: int = 4) -> T:
    """Runs `work` in a transaction of its own, again when PostgreSQL reports a deadlock or a
    serialization failure (the transaction was rolled back, so running it again is safe)."""
    for attempt in range(attempts):
        try:
            async with db.transaction() as session:
                return await work(session)
        except Exception as error:
            if attempt + 1 < attempts and is_retryable(error):
                log.info("retrying a ledger transaction after %s", type(error).__name__)
                await asyncio.sleep(0.005 * (attempt + 1))
                continue
            raise
    raise AssertionError("unreachable")


class Ledger:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        assets: AssetCatalog,
        *,
        platform_fee_bps: int,
        hold_default_ttl: timedelta,
        hold_max_ttl: timedelta,
    ) -> None:
        if not 0 <= platform_fee_bps <= 10_000:
            raise ValueError(f"AGENTOS_PLATFORM_FEE_BPS must be 0 to 10000, not {platform_fee_bps}")
        self._db = db
        self._clock = clock
        self.assets = assets
        self._dialect = "postgresql" if db.is_postgres else "sqlite"
        self.budgets = BudgetGuard(self._dialect)
        self.fee_bps = platform_fee_bps
        self.hold_default_ttl = hold_default_ttl
        self.hold_max_ttl = hold_max_ttl
        self._credit_policy: CreditPolicy | None = None
        self._fast = PgPoster(db) if db.is_postgres else None
        # Told about every posted transaction (the runtime counts ledger volume for Prometheus).
        # Inside a caller's transaction it hears of postings that may still roll back.
        self.observer: Callable[[PostedTransaction], None] | None = None
        self._update = (
            update(_ACCOUNTS)
            .where(
                _ACCOUNTS.c.name == bindparam("p_name"),
                _ACCOUNTS.c.balance >= bindparam("p_low"),
                _ACCOUNTS.c.balance <= bindparam("p_high"),
            )
            .values(balance=_ACCOUNTS.c.balance + bindparam("p_delta"), updated_at=bindparam("p_now"))
            .returning(_ACCOUNTS.c.balance)
        )

    @property
    def db(self) -> Database:
        return self._db

    async def close(self) -> None:
        if self._fast is not None:
            await self._fast.close()

    def set_credit_policy(self, policy: CreditPolicy) -> None:
        self._credit_policy = policy

    def platform_fee(self) -> Fee:
        """The configured marketplace fee (AGENTOS_PLATFORM_FEE_BPS)."""
        return Fee(basis_points=self.fee_bps)

    async def _within(self, session: AsyncSession | None, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        if session is not None:
            return await work(session)
        return await transact(self._db, work)

    # --- posting --------------------------------------------------------------------------------

    async def post(
        self,
        kind: str,
        lines: Sequence[Line],
        *,
        initiator: str = SYSTEM,
        memo: str = "",
        reference: str = "",
        reverses: str | None = None,
        idempotency_key: str = "",
        transaction_id: str | None = None,
        session: AsyncSession | None = None,
    ) -> PostedTransaction:
        """Posts a balanced transaction: the lines' amounts must sum to zero per asset."""

        async def work(s: AsyncSession) -> PostedTransaction:
            return await self._post(
                await s.connection(),
                kind,
                lines,
                initiator=initiator,
                memo=memo,
                reference=reference,
                reverses=reverses,
                idempotency_key=idempotency_key,
                transaction_id=transaction_id,
                now=self._clock.now(),
            )

        return await self._within(session, work)

    def _validate(self, kind: str, lines: Sequence[Line]) -> dict[str, AccountRef]:
        if kind not in KINDS:
            raise InvalidArgument(f"unknown transaction kind {kind!r}", reason="UNKNOWN_TRANSACTION_KIND")
        if not lines:
            raise InvalidArgument("a transaction needs entries", reason="UNBALANCED_TRANSACTION")
        refs: dict[str, AccountRef] = {}
        sums: dict[str, int] = defaultdict(int)
        for line in lines:
            ref = refs.get(line.account) or parse_account(line.account)
            if ref is None:
                raise InvalidArgument(f"{line.account!r} is not a ledger account", reason="UNKNOWN_ACCOUNT")
            if ref.asset != line.asset:
                raise InvalidArgument(
                    f"{line.account} holds {ref.asset}, not {line.asset}", reason="UNBALANCED_TRANSACTION"
                )
            self.assets.require(line.asset, "asset")
            if not -MAX_AMOUNT <= line.amount <= MAX_AMOUNT:
                raise InvalidArgument(f"an entry of {line.amount} is out of range", reason="AMOUNT_TOO_LARGE")
            refs[line.account] = ref
            sums[line.asset] += line.amount
        for asset, total in sums.items():
            if total != 0:
                raise InvalidArgument(
                    f"the entries of {asset} sum to {total}, not zero", reason="UNBALANCED_TRANSACTION"
                )
        return refs

    async def _post(
        self,
        connection: AsyncConnection,
        kind: str,
        lines: Sequence[Line],
        *,
        initiator: str,
        memo: str,
        reference: str,
        reverses: str | None,
        idempotency_key: str,
        transaction_id: str | None,
        now: datetime,
    ) -> PostedTransaction:
        refs = self._validate(kind, lines)
        kept = tuple(line for line in lines if line.amount != 0)
        deltas: dict[str, int] = defaultdict(int)
        for line in kept:
            deltas[line.account] += line.amount
        await self._apply(connection, refs, deltas, now)
        posted = PostedTransaction(
            id=transaction_id or new_id(),
            kind=kind,
            entries=kept,
            memo=memo,
            initiator=initiator,
            idempotency_key=idempotency_key,
            reference=reference,
            reverses=reverses,
            created_at=now,
        )
        await connection.execute(
            insert(_TRANSACTIONS),
            {
                "id": posted.id,
                "kind": kind,
                "initiator": initiator,
                "memo": memo,
                "idempotency_key": idempotency_key,
                "reference": reference,
                "reverses": reverses,
                "created_at": now,
            },
        )
        await connection.execute(
            insert(_ENTRIES),
            [
                {
                    "transaction_id": posted.id,
                    "account": line.account,
                    "agent_id": refs[line.account].agent_id,
                    "asset": line.asset,
                    "amount": line.amount,
                }
                for line in kept
            ],
        )
        if self.observer is not None:
            self.observer(posted)
        return posted

    async def _apply(
        self, connection: AsyncConnection, refs: dict[str, AccountRef], deltas: dict[str, int], now: datetime
    ) -> None:
        """Changes every balance by its delta, in ascending account order, or raises."""
        for name in sorted(deltas):
            delta = deltas[name]
            if delta == 0:
                continue
            ref = refs[name]
            low, high = _bounds(ref, delta)
            params = {"p_name": name, "p_low": low, "p_high": high, "p_delta": delta, "p_now": now}
            await self._change(connection, ref, params, low, high, delta, now)

    async def _change(
        self,
        connection: AsyncConnection,
        ref: AccountRef,
        params: dict[str, Any],
        low: int,
        high: int,
        delta: int,
        now: datetime,
    ) -> None:
        # A miss is diagnosed with a fresh read: under READ COMMITTED the account may have been
        # created, or changed, by a transaction that committed after the UPDATE took its snapshot;
        # then the UPDATE simply runs again.
        for _ in range(4):
            if (await connection.execute(self._update, params)).first() is not None:
                return
            balance = (
                await connection.execute(select(_ACCOUNTS.c.balance).where(_ACCOUNTS.c.name == ref.name))
            ).scalar_one_or_none()
            if balance is None:
                await self._create_account(connection, ref, now)
                continue
            if balance < low and delta < 0:
                raise InsufficientFunds(ref.name, ref.asset, balance, -delta)
            if balance < low or balance > high:
                raise FailedPrecondition(
                    f"{ref.name} would pass the largest balance a ledger account can hold",
                    reason="BALANCE_LIMIT",
                    metadata={"account": ref.name},
                )
        raise Aborted(
            f"{ref.name} kept changing while it was being updated; retry", reason="CONCURRENT_UPDATE"
        )

    async def _create_account(self, connection: AsyncConnection, ref: AccountRef, now: datetime) -> None:
        if ref.agent_id is not None:
            found = (await connection.execute(select(AgentRow.id).where(AgentRow.id == ref.agent_id))).first()
            if found is None:
                raise NotFound(f"agents/{ref.agent_id} does not exist", reason="AGENT_NOT_FOUND")
        await connection.execute(
            insert_ignoring_conflicts(
                self._dialect,
                _ACCOUNTS,
                {
                    "name": ref.name,
                    "agent_id": ref.agent_id,
                    "asset": ref.asset,
                    "kind": ref.kind,
                    "balance": 0,
                    "created_at": now,
                    "updated_at": now,
                },
            )
        )

    async def _debit_lines(
        self, session: AsyncSession, agent_id: str, account: str, amount: Money, now: datetime
    ) -> list[Line]:
        """The lines taking `amount` from an agent's account; for credits of an unlimited tier, the
        debit is minted from platform/issuance in the same transaction."""
        lines = [Line(account, amount.asset, -amount.amount)]
        policy = self._credit_policy
        if (
            amount.asset == CREDIT
            and policy is not None
            and await policy.before_credit_debit(session, agent_id, now)
        ):
            lines += [
                Line(platform_account(ISSUANCE, CREDIT), CREDIT, -amount.amount),
                Line(account, CREDIT, amount.amount),
            ]
        return lines

    # --- payments -------------------------------------------------------------------------------

    async def pay(
        self,
        payer: str,
        payee: str | None,
        amount: Money,
        *,
        fee: Fee | None = None,
        kind: str = PURCHASE,
        reference: str = "",
        memo: str = "",
        initiator: str | None = None,
        budget_scopes: Sequence[str] = (),
        budgeted: bool = True,
        idempotency_key: str = "",
        transaction_id: str | None = None,
        session: AsyncSession | None = None,
    ) -> PostedTransaction:
        """One balanced transaction from `payer` (an agent id) to `payee` (an agent id, or None
        for platform/revenue): payer -amount, payee +(amount - fee), platform/fees +fee."""
        self._check_money(amount)
        fee_amount = fee.of(amount.amount) if fee is not None else 0
        if not 0 <= fee_amount <= amount.amount:
            raise InvalidArgument(f"a fee of {fee_amount} does not fit a payment of {amount.amount}")
        if payee == payer:
            raise InvalidArgument("an agent cannot pay itself", reason="SELF_PAYMENT")

        async def work(s: AsyncSession) -> PostedTransaction:
            now = self._clock.now()
            connection = await s.connection()
            if budgeted:
                await self.budgets.consume(
                    connection,
                    agent_id=payer,
                    asset=amount.asset,
                    amount=amount.amount,
                    scopes=budget_scopes,
                    now=now,
                )
            lines = await self._debit_lines(s, payer, wallet_account(payer, amount.asset), amount, now)
            lines += _credit_lines(payee, amount, fee_amount)
            return await self._post(
                connection,
                kind,
                lines,
                initiator=initiator or f"agents/{payer}",
                memo=memo,
                reference=reference,
                reverses=None,
                idempotency_key=idempotency_key,
                transaction_id=transaction_id,
                now=now,
            )

        if session is None:
            posted = await self.try_fast_pay(
                payer,
                payee,
                amount,
                fee_amount=fee_amount,
                kind=kind,
                reference=reference,
                memo=memo,
                initiator=initiator or f"agents/{payer}",
                budget_scopes=budget_scopes,
                budgeted=budgeted,
                idempotency_key=idempotency_key,
                transaction_id=transaction_id,
            )
            if posted is not None:
                return posted
        return await self._within(session, work)

    async def try_fast_pay(
        self,
        payer: str,
        payee: str | None,
        amount: Money,
        *,
        fee_amount: int,
        kind: str,
        reference: str,
        memo: str,
        initiator: str,
        budget_scopes: Sequence[str],
        budgeted: bool,
        idempotency_key: str,
        transaction_id: str | None,
        claim: Claim | None = None,
    ) -> PostedTransaction | None:
        """The hot path of pay() on PostgreSQL (infra/ledger_pg.py): the whole payment, with the
        idempotency claim if given, in one statement. None when it does not apply or found anything
        but the plain case (a repeat, a budget, a missing account, too little money): nothing was
        written then, and the caller runs the general path, which handles every case."""
        if self._fast is None:
            return None
        prepared = self.plan_payment(
            payer,
            payee,
            amount,
            fee_amount=fee_amount,
            kind=kind,
            reference=reference,
            memo=memo,
            initiator=initiator,
            idempotency_key=idempotency_key,
            transaction_id=transaction_id,
        )
        if prepared is None:
            return None
        done = await self._fast.post(
            claim=claim,
            budget_agent=payer if budgeted else None,
            budget_asset=amount.asset,
            budget_scopes=budget_scopes,
            changes=prepared.changes,
            transaction=prepared.transaction_row,
            entries=prepared.entries,
            now=prepared.posted.created_at,
        )
        if not done:
            return None
        self.record_posted(prepared.posted)
        return prepared.posted

    def record_posted(self, posted: PostedTransaction) -> None:
        """Tells the observer (ledger volume metrics) of a transaction a caller posted with
        plan_payment in a statement of its own."""
        if self.observer is not None:
            self.observer(posted)

    def plan_payment(
        self,
        payer: str,
        payee: str | None,
        amount: Money,
        *,
        fee_amount: int,
        kind: str,
        reference: str,
        memo: str,
        initiator: str,
        idempotency_key: str,
        transaction_id: str | None,
    ) -> PreparedPayment | None:
        """What a payment writes, for a caller that posts it its own way (the ledger's and the
        Marketplace's single-statement hot paths on PostgreSQL, the skill proxy's one-hop
        settlement on SQLite): the balance changes in lock order with their bounds, the entries
        and the transaction. None for credits an unlimited tier would mint."""
        if amount.asset == CREDIT and self._credit_policy is not None:
            return None
        lines = [Line(wallet_account(payer, amount.asset), amount.asset, -amount.amount)]
        lines += _credit_lines(payee, amount, fee_amount)
        refs = self._validate(kind, lines)
        # As on the general path: an entry of zero (a fee that takes everything) is not written.
        lines = [line for line in lines if line.amount]
        changes = []
        for name, delta in sorted(_net(lines).items()):
            if delta:
                low, high = _bounds(refs[name], delta)
                changes.append(BalanceChange(name, delta, low, high))
        posted = PostedTransaction(
            id=transaction_id or new_id(),
            kind=kind,
            entries=tuple(lines),
            memo=memo,
            initiator=initiator,
            idempotency_key=idempotency_key,
            reference=reference,
            reverses=None,
            created_at=self._clock.now(),
        )
        entries = [
            EntryRow(line.account, refs[line.account].agent_id, line.asset, line.amount) for line in lines
        ]
        return PreparedPayment(posted, changes, entries)

    async def charge(
        self,
        agent: str,
        amount: Money,
        *,
        kind: str = USAGE_CHARGE,
        payee: str | None = None,
        fee: Fee | None = None,
        budget_scopes: Sequence[str] = (),
        reference: str = "",
        memo: str = "",
        initiator: str | None = None,
        idempotency_key: str = "",
        transaction_id: str | None = None,
        session: AsyncSession | None = None,
    ) -> PostedTransaction:
        """A metered charge against the agent's budgets: to the platform, or to a payee (a skill's
        seller) with an optional platform fee."""
        return await self.pay(
            agent,
            payee,
            amount,
            fee=fee,
            kind=kind,
            reference=reference,
            memo=memo,
            initiator=initiator,
            budget_scopes=budget_scopes,
            budgeted=True,
            idempotency_key=idempotency_key,
            transaction_id=transaction_id,
            session=session,
        )

    async def reverse(
        self,
        transaction_id: str,
        *,
        kind: str = REFUND,
        initiator: str = SYSTEM,
        memo: str = "",
        reference: str = "",
        idempotency_key: str = "",
        new_transaction_id: str | None = None,
        session: AsyncSession | None = None,
    ) -> PostedTransaction:
        """Posts the exact negation of a transaction. Fails ALREADY_REVERSED the second time, and
        INSUFFICIENT_FUNDS when a recipient has already spent what it must give back."""

        async def work(s: AsyncSession) -> PostedTransaction:
            connection = await s.connection()
            original = await self._load_transaction(connection, transaction_id)
            if original is None:
                raise NotFound(
                    f"transactions/{transaction_id} does not exist", reason="TRANSACTION_NOT_FOUND"
                )
            if original.kind in _NOT_REVERSIBLE:
                raise FailedPrecondition(
                    f"a {original.kind} transaction cannot be reversed", reason="NOT_REVERSIBLE"
                )
            done = (
                await connection.execute(
                    select(_TRANSACTIONS.c.id).where(_TRANSACTIONS.c.reverses == original.id)
                )
            ).first()
            if done is not None:
                raise FailedPrecondition(
                    f"transactions/{original.id} was already reversed by transactions/{done.id}",
                    reason="ALREADY_REVERSED",
                )
            lines = []
            for line in original.entries:
                account = line.account.removesuffix("/held")
                lines.append(Line(account, line.asset, -line.amount))
            try:
                return await self._post(
                    connection,
                    kind,
                    lines,
                    initiator=initiator,
                    memo=memo or f"reverses transactions/{original.id}",
                    reference=reference or original.reference,
                    reverses=original.id,
                    idempotency_key=idempotency_key,
                    transaction_id=new_transaction_id,
                    now=self._clock.now(),
                )
            except IntegrityError:
                raise FailedPrecondition(
                    f"transactions/{original.id} was already reversed", reason="ALREADY_REVERSED"
                ) from None

        return await self._within(session, work)

    # --- holds ----------------------------------------------------------------------------------

    async def hold(
        self,
        agent: str,
        amount: Money,
        *,
        purpose: str = "",
        reference: str = "",
        ttl: timedelta | None = None,
        expires: bool = True,
        budget_scopes: Sequence[str] = (),
        budgeted: bool = True,
        hold_id: str | None = None,
        initiator: str | None = None,
        idempotency_key: str = "",
        session: AsyncSession | None = None,
    ) -> HoldView:
        """Reserves `amount` of the agent's available balance until captured, released or expired
        (after `ttl`, default AGENTOS_HOLD_DEFAULT_TTL_SECONDS; `expires=False` never expires)."""
        self._check_money(amount)
        lifetime = ttl or self.hold_default_ttl
        if lifetime <= timedelta(0) or lifetime > self.hold_max_ttl:
            raise InvalidArgument(
                f"a hold lives 1 s to {int(self.hold_max_ttl.total_seconds())} s",
                field="ttl_seconds",
                reason="INVALID_TTL",
            )

        async def work(s: AsyncSession) -> HoldView:
            now = self._clock.now()
            connection = await s.connection()
            charges: list[BudgetCharge] = []
            if budgeted:
                charges = await self.budgets.consume(
                    connection,
                    agent_id=agent,
                    asset=amount.asset,
                    amount=amount.amount,
                    scopes=budget_scopes,
                    now=now,
                )
            new_hold = hold_id or new_id()
            lines = await self._debit_lines(s, agent, wallet_account(agent, amount.asset), amount, now)
            lines.append(Line(held_account(agent, amount.asset), amount.asset, amount.amount))
            posted = await self._post(
                connection,
                HOLD,
                lines,
                initiator=initiator or f"agents/{agent}",
                memo=purpose,
                reference=f"holds/{new_hold}",
                reverses=None,
                idempotency_key=idempotency_key,
                transaction_id=None,
                now=now,
            )
            values = {
                "id": new_hold,
                "agent_id": agent,
                "asset": amount.asset,
                "amount": amount.amount,
                "captured_amount": 0,
                "state": ACTIVE,
                "purpose": purpose,
                "reference": reference,
                "expires_at": now + lifetime if expires else None,
                "budget_charges": [c.to_json() for c in charges],
                "hold_transaction_id": posted.id,
                "resolve_transaction_id": None,
                "created_at": now,
                "resolved_at": None,
            }
            await connection.execute(insert(_HOLDS), values)
            return HoldView.of(_Obj(values))

        return await self._within(session, work)

    async def _lock_hold(self, connection: AsyncConnection, hold_id: str) -> HoldView:
        query = select(_HOLDS).where(_HOLDS.c.id == hold_id)
        if self._dialect == "postgresql":
            query = query.with_for_update()
        row = (await connection.execute(query)).first()
        if row is None:
            raise NotFound(
                f"holds/{hold_id} does not exist", reason="HOLD_NOT_FOUND", metadata={"field": "name"}
            )
        return HoldView.of(row)

    @staticmethod
    def _require_active(hold: HoldView, now: datetime, *, for_capture: bool) -> None:
        if hold.state != ACTIVE:
            raise FailedPrecondition(
                f"holds/{hold.id} is {hold.state}, not active",
                reason="HOLD_NOT_ACTIVE",
                metadata={"state": hold.state},
            )
        if for_capture and hold.expires_at is not None and hold.expires_at <= now:
            raise FailedPrecondition(
                f"holds/{hold.id} expired at {hold.expires_at.isoformat()}; its money is being returned",
                reason="HOLD_EXPIRED",
            )

    async def get_hold_for_update(self, session: AsyncSession, hold_id: str) -> HoldView:
        """The hold, locked for the rest of the caller's transaction (PostgreSQL)."""
        return await self._lock_hold(await session.connection(), hold_id)

    async def capture(
        self,
        hold_id: str,
        *,
        amount: int,
        payee: str | None = None,
        fee: Fee | None = None,
        kind: str = CAPTURE,
        platform_kind: str = REVENUE,
        initiator: str = SYSTEM,
        memo: str = "",
        reference: str = "",
        idempotency_key: str = "",
        transaction_id: str | None = None,
        session: AsyncSession | None = None,
    ) -> tuple[HoldView, PostedTransaction]:
        """Takes `amount` (0 to the held amount) to `payee` (an agent id) or, without one, to the
        platform account `platform_kind` (revenue; withdrawals use external); the rest returns to
        the wallet and to the budgets it was reserved from."""
        if platform_kind not in PLATFORM_KINDS:
            raise ValueError(f"unknown platform account kind {platform_kind!r}")

        async def work(s: AsyncSession) -> tuple[HoldView, PostedTransaction]:
            now = self._clock.now()
            connection = await s.connection()
            hold = await self._lock_hold(connection, hold_id)
            if amount < 0 or amount > hold.amount:
                raise InvalidArgument(
                    f"holds/{hold.id} holds {hold.amount}; a capture takes 0 to {hold.amount}, not {amount}",
                    field="amount",
                    reason="CAPTURE_EXCEEDS_HOLD" if amount > 0 else "INVALID_AMOUNT",
                )
            if payee == hold.agent_id:
                raise InvalidArgument(
                    "a hold cannot be captured to its own agent", field="payee", reason="SELF_PAYMENT"
                )
            self._require_active(hold, now, for_capture=True)
            fee_amount = fee.of(amount) if fee is not None and payee is not None else 0
            if not 0 <= fee_amount <= amount:
                raise InvalidArgument(f"a fee of {fee_amount} does not fit a capture of {amount}")
            asset = hold.asset
            lines = [Line(held_account(hold.agent_id, asset), asset, -hold.amount)]
            if payee is None:
                lines.append(Line(platform_account(platform_kind, asset), asset, amount))
            else:
                lines.append(Line(wallet_account(payee, asset), asset, amount - fee_amount))
                if fee_amount:
                    lines.append(Line(platform_account(FEES, asset), asset, fee_amount))
            lines.append(Line(wallet_account(hold.agent_id, asset), asset, hold.amount - amount))
            await self.budgets.give_back(connection, hold.budget_charges, hold.amount - amount)
            posted = await self._post(
                connection,
                kind,
                lines,
                initiator=initiator,
                memo=memo or hold.purpose,
                reference=reference or f"holds/{hold.id}",
                reverses=None,
                idempotency_key=idempotency_key,
                transaction_id=transaction_id,
                now=now,
            )
            await connection.execute(
                update(_HOLDS)
                .where(_HOLDS.c.id == hold.id)
                .values(
                    state=CAPTURED, captured_amount=amount, resolved_at=now, resolve_transaction_id=posted.id
                )
            )
            return (
                _replace_hold(hold, CAPTURED, now, posted.id, captured=amount),
                posted,
            )

        return await self._within(session, work)

    async def release(
        self,
        hold_id: str,
        *,
        initiator: str = SYSTEM,
        idempotency_key: str = "",
        session: AsyncSession | None = None,
    ) -> HoldView:
        """Returns the whole held amount to the wallet and to its budgets."""

        async def work(s: AsyncSession) -> HoldView:
            now = self._clock.now()
            connection = await s.connection()
            hold = await self._lock_hold(connection, hold_id)
            self._require_active(hold, now, for_capture=False)
            return await self._release(connection, hold, RELEASED, initiator, idempotency_key, now)

        return await self._within(session, work)

    async def _release(
        self,
        connection: AsyncConnection,
        hold: HoldView,
        state: str,
        initiator: str,
        idempotency_key: str,
        now: datetime,
    ) -> HoldView:
        asset = hold.asset
        await self.budgets.give_back(connection, hold.budget_charges, hold.amount)
        posted = await self._post(
            connection,
            RELEASE,
            [
                Line(held_account(hold.agent_id, asset), asset, -hold.amount),
                Line(wallet_account(hold.agent_id, asset), asset, hold.amount),
            ],
            initiator=initiator,
            memo="expired" if state == EXPIRED else hold.purpose,
            reference=f"holds/{hold.id}",
            reverses=None,
            idempotency_key=idempotency_key,
            transaction_id=None,
            now=now,
        )
        await connection.execute(
            update(_HOLDS)
            .where(_HOLDS.c.id == hold.id)
            .values(state=state, resolved_at=now, resolve_transaction_id=posted.id)
        )
        return _replace_hold(hold, state, now, posted.id)

    async def expire_holds(self, limit: int = 200) -> int:
        """Releases (state EXPIRED) active holds whose expire_time has passed; one transaction per
        hold, so a sweep on several replicas at once only ever releases a hold once."""
        now = self._clock.now()
        async with self._db.snapshot() as session:
            due = (
                (
                    await session.execute(
                        select(_HOLDS.c.id)
                        .where(_HOLDS.c.state == ACTIVE, _HOLDS.c.expires_at <= now)
                        .order_by(_HOLDS.c.expires_at)
                        .limit(limit)
                    )
                )
                .scalars()
                .all()
            )
        expired = 0
        for hold_id in due:

            async def work(s: AsyncSession, hold_id: str = hold_id) -> bool:
                connection = await s.connection()
                hold = await self._lock_hold(connection, hold_id)
                if hold.state != ACTIVE or hold.expires_at is None or hold.expires_at > now:
                    return False
                await self._release(connection, hold, EXPIRED, SYSTEM, "", now)
                return True

            try:
                expired += int(await transact(self._db, work))
            except Exception:
                log.exception("could not expire holds/%s", hold_id)
        return expired

    async def get_hold(self, hold_id: str) -> HoldView | None:
        async with self._db.snapshot() as session:
            row = (await session.execute(select(_HOLDS).where(_HOLDS.c.id == hold_id))).first()
        return HoldView.of(row) if row is not None else None

    async def list_holds(
        self, agent_id: str, *, state: str | None, before_id: str | None, limit: int
    ) -> list[HoldView]:
        query = select(_HOLDS).where(_HOLDS.c.agent_id == agent_id)
        if state:
            query = query.where(_HOLDS.c.state == state)
        if before_id:
            query = query.where(_HOLDS.c.id < before_id)
        query = query.order_by(_HOLDS.c.id.desc()).limit(limit)
        async with self._db.snapshot() as session:
            return [HoldView.of(row) for row in (await session.execute(query)).all()]

    # --- reads ----------------------------------------------------------------------------------

    async def wallets(
        self, agent_id: str, assets: Sequence[str] | None = None, *, session: AsyncSession | None = None
    ) -> list[WalletView]:
        """Available and held balance of each asset (every known asset unless `assets` is given)."""
        codes = list(assets) if assets is not None else [a.code for a in self.assets.all()]
        names = [wallet_account(agent_id, c) for c in codes] + [held_account(agent_id, c) for c in codes]
        query = select(_ACCOUNTS.c.name, _ACCOUNTS.c.balance, _ACCOUNTS.c.updated_at).where(
            _ACCOUNTS.c.name.in_(names)
        )
        if session is not None:
            rows = (await session.execute(query)).all()
        else:
            async with self._db.snapshot() as s:
                rows = (await s.execute(query)).all()
        found = {row.name: row for row in rows}
        views = []
        for code in codes:
            available = found.get(wallet_account(agent_id, code))
            held = found.get(held_account(agent_id, code))
            times = [r.updated_at for r in (available, held) if r is not None]
            views.append(
                WalletView(
                    agent_id,
                    code,
                    available.balance if available is not None else 0,
                    held.balance if held is not None else 0,
                    max(times) if times else None,
                )
            )
        return views

    async def wallet(self, agent_id: str, asset: str, *, session: AsyncSession | None = None) -> WalletView:
        return (await self.wallets(agent_id, [asset], session=session))[0]

    async def balance(self, account: str, *, session: AsyncSession | None = None) -> int:
        query = select(_ACCOUNTS.c.balance).where(_ACCOUNTS.c.name == account)
        if session is not None:
            return int((await session.execute(query)).scalar_one_or_none() or 0)
        async with self._db.snapshot() as s:
            return int((await s.execute(query)).scalar_one_or_none() or 0)

    async def _load_transaction(
        self, connection: AsyncConnection | AsyncSession, transaction_id: str
    ) -> PostedTransaction | None:
        row = (
            await connection.execute(select(_TRANSACTIONS).where(_TRANSACTIONS.c.id == transaction_id))
        ).first()
        if row is None:
            return None
        return (await self._with_entries(connection, [row]))[0]

    async def _with_entries(
        self, connection: AsyncConnection | AsyncSession, rows: Sequence[Any]
    ) -> list[PostedTransaction]:
        if not rows:
            return []
        ids = [row.id for row in rows]
        entries: dict[str, list[Line]] = defaultdict(list)
        for entry in (
            await connection.execute(
                select(_ENTRIES.c.transaction_id, _ENTRIES.c.account, _ENTRIES.c.asset, _ENTRIES.c.amount)
                .where(_ENTRIES.c.transaction_id.in_(ids))
                .order_by(_ENTRIES.c.id)
            )
        ).all():
            entries[entry.transaction_id].append(Line(entry.account, entry.asset, entry.amount))
        return [
            PostedTransaction(
                id=row.id,
                kind=row.kind,
                entries=tuple(entries[row.id]),
                memo=row.memo,
                initiator=row.initiator,
                idempotency_key=row.idempotency_key,
                reference=row.reference,
                reverses=row.reverses,
                created_at=row.created_at,
            )
            for row in rows
        ]

    async def get_transaction(
        self, transaction_id: str, *, session: AsyncSession | None = None
    ) -> PostedTransaction | None:
        if session is not None:
            return await self._load_transaction(session, transaction_id)
        async with self._db.snapshot() as s:
            return await self._load_transaction(s, transaction_id)

    async def list_transactions(
        self,
        agent_id: str,
        *,
        asset: str = "",
        kind: str = "",
        start: datetime | None = None,
        end: datetime | None = None,
        before_id: str | None = None,
        limit: int = 25,
    ) -> list[PostedTransaction]:
        """Transactions with an entry on one of the agent's accounts, newest first."""
        touching = select(_ENTRIES.c.transaction_id).where(_ENTRIES.c.agent_id == agent_id)
        if asset:
            touching = touching.where(_ENTRIES.c.asset == asset)
        query = select(_TRANSACTIONS).where(_TRANSACTIONS.c.id.in_(touching))
        if kind:
            query = query.where(_TRANSACTIONS.c.kind == kind)
        if start is not None:
            query = query.where(_TRANSACTIONS.c.created_at >= start)
        if end is not None:
            query = query.where(_TRANSACTIONS.c.created_at < end)
        if before_id:
            query = query.where(_TRANSACTIONS.c.id < before_id)
        query = query.order_by(_TRANSACTIONS.c.id.desc()).limit(limit)
        async with self._db.snapshot() as session:
            rows = (await session.execute(query)).all()
            return await self._with_entries(session, rows)

    @staticmethod
    def touches(transaction: PostedTransaction, agent_id: str) -> bool:
        """Whether the agent caused the transaction or has an entry in it."""
        prefix = f"agents/{agent_id}/"
        return transaction.initiator == f"agents/{agent_id}" or any(
            e.account.startswith(prefix) for e in transaction.entries
        )

    # --- audit ----------------------------------------------------------------------------------

    async def check(self) -> LedgerCheck:
        """Recomputes every balance from its entries, every transaction's sum per asset, and every
        held balance from the active holds; reports each discrepancy."""
        report = LedgerCheck()
        async with self._db.snapshot() as session:
            connection = await session.connection()
            if self._dialect == "postgresql":
                # One snapshot for all the queries below.
                await connection.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            sums = (
                select(_ENTRIES.c.account, func.sum(_ENTRIES.c.amount).label("total"))
                .group_by(_ENTRIES.c.account)
                .subquery()
            )
            rows = (
                await connection.execute(
                    select(_ACCOUNTS.c.name, _ACCOUNTS.c.kind, _ACCOUNTS.c.balance, sums.c.total).outerjoin(
                        sums, sums.c.account == _ACCOUNTS.c.name
                    )
                )
            ).all()
            report.accounts_checked = len(rows)
            for row in rows:
                total = int(row.total or 0)
                if total != row.balance:
                    report.problems.append(
                        f"{row.name}: stored balance {row.balance} but its entries sum to {total}"
                    )
                if row.balance < 0 and row.kind not in UNBOUNDED_KINDS:
                    report.problems.append(f"{row.name}: negative balance {row.balance}")
            report.transactions_checked = int(
                (await connection.execute(select(func.count()).select_from(_TRANSACTIONS))).scalar_one()
            )
            for unbalanced in (
                await connection.execute(
                    select(
                        _ENTRIES.c.transaction_id,
                        _ENTRIES.c.asset,
                        func.sum(_ENTRIES.c.amount).label("total"),
                    )
                    .group_by(_ENTRIES.c.transaction_id, _ENTRIES.c.asset)
                    .having(func.sum(_ENTRIES.c.amount) != 0)
                )
            ).all():
                report.problems.append(
                    f"transactions/{unbalanced.transaction_id}: entries of {unbalanced.asset} sum to "
                    f"{unbalanced.total}, not zero"
                )
            for row in (
                await connection.execute(
                    select(_TRANSACTIONS.c.id).where(
                        ~_TRANSACTIONS.c.id.in_(select(_ENTRIES.c.transaction_id))
                    )
                )
            ).all():
                report.problems.append(f"transactions/{row.id}: has no entries")
            held = (
                select(
                    _HOLDS.c.agent_id,
                    _HOLDS.c.asset,
                    func.sum(_HOLDS.c.amount).label("total"),
                )
                .where(_HOLDS.c.state == ACTIVE)
                .group_by(_HOLDS.c.agent_id, _HOLDS.c.asset)
            )
            active = {(r.agent_id, r.asset): int(r.total) for r in (await connection.execute(held)).all()}
            held_rows = (
                await connection.execute(
                    select(_ACCOUNTS.c.agent_id, _ACCOUNTS.c.asset, _ACCOUNTS.c.balance).where(
                        _ACCOUNTS.c.kind == HELD
                    )
                )
            ).all()
            seen = set()
            for held_row in held_rows:
                key = (held_row.agent_id, held_row.asset)
                seen.add(key)
                if active.get(key, 0) != held_row.balance:
                    report.problems.append(
                        f"{held_account(*key)}: balance {held_row.balance} but active holds "
                        f"total {active.get(key, 0)}"
                    )
            for key, total in active.items():
                if key not in seen:
                    report.problems.append(f"{held_account(*key)}: missing, but active holds total {total}")
        return report

    # --- helpers --------------------------------------------------------------------------------

    def _check_money(self, amount: Money) -> None:
        self.assets.require(amount.asset, "amount.asset")
        if not 0 < amount.amount <= MAX_AMOUNT:
            raise InvalidArgument(
                f"an amount must be 1 to {MAX_AMOUNT} atomic units, not {amount.amount}",
                field="amount.amount",
                reason="INVALID_AMOUNT",
            )


def _credit_lines(payee: str | None, amount: Money, fee_amount: int) -> list[Line]:
    """The receiving side of a payment: the payee's share and the platform's fee, or all of it to
    platform/revenue when there is no payee."""
    if payee is None:
        return [Line(platform_account(REVENUE, amount.asset), amount.asset, amount.amount)]
    lines = [Line(wallet_account(payee, amount.asset), amount.asset, amount.amount - fee_amount)]
    if fee_amount:
        lines.append(Line(platform_account(FEES, amount.asset), amount.asset, fee_amount))
    return lines


def _bounds(ref: AccountRef, delta: int) -> tuple[int, int]:
    """The range the balance must be in before `delta` is applied, so that afterwards it is not
    negative (when the account is bounded) and fits a signed 64-bit integer."""
    high = MAX_BALANCE - delta if delta > 0 else MAX_BALANCE
    if delta < 0:
        low = -delta if ref.bounded else -MAX_BALANCE - delta
    else:
        low = 0 if ref.bounded else -MAX_BALANCE
    return low, high


def _net(lines: Sequence[Line]) -> dict[str, int]:
    deltas: dict[str, int] = defaultdict(int)
    for line in lines:
        deltas[line.account] += line.amount
    return deltas


class _Obj:
    """Attribute access over a dict, to build a HoldView from the values just inserted."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def _replace_hold(
    hold: HoldView, state: str, now: datetime, transaction_id: str, *, captured: int | None = None
) -> HoldView:
    from dataclasses import replace

    return replace(
        hold,
        state=state,
        resolved_at=now,
        resolve_transaction_id=transaction_id,
        captured_amount=hold.captured_amount if captured is None else captured,
    )


# Re-exported for the modules that only need the names.
__all__ = [
    "ACTIVE",
    "CAPTURED",
    "EXPIRED",
    "KINDS",
    "RELEASED",
    "AccountRef",
    "Fee",
    "HoldView",
    "InsufficientFunds",
    "Ledger",
    "LedgerCheck",
    "Line",
    "PostedTransaction",
    "WalletView",
    "held_account",
    "platform_account",
    "transact",
    "wallet_account",
]

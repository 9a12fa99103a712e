"""ExecuteSkill: the metered skill proxy.

    authenticate (the call pipeline)
    → idempotency: a repeat of a settled call returns its first answer, nothing else happens
    → the skill (cached for AGENTOS_PROXY_CACHE_SECONDS) and its seller
    → licence check (the buyer's licence to the skill; the seller may call its own skills free)
    → rate limit per licence (a token bucket in Redis, or in this process without Redis)
    → operation and payload against the skill's OpenAPI document
    → the money: pay-per-call needs the price available and inside every budget; prepaid units
      and trial runs need a unit left — counting what calls in flight on this replica already need
    → dispatch to the endpoint (HTTPS, hosted script or agent channel) with the call's deadline
    → settle, in ONE database transaction: claim the idempotency key, take the unit or charge the
      price (seller share + platform fee, through the ledger, against the buyer's budgets), write
      the usage record — in one trip to the database where nothing needs deciding
      (infra/settle_fast.py), else step by step (`_settle`)
    → the answer and its usage record; the call is counted for the seller's analytics and
      reputation in batches, off the call's path (domain/proxy/counts.py).

Charging order. Nothing is taken before the seller answered: a call that fails, times out or is
refused is never charged and never uses a unit, and there is nothing to give back. Settling after
success is a conditional update (units) or a bounded ledger update (money and budgets), so
concurrent calls can never take a buyer past its units, funds or budgets. The price of that order
is at the boundary: when several calls race for the last unit (or the last of the money), each is
checked before dispatch, and this replica also counts its calls in flight, but calls on different
replicas can both be dispatched; the one that settles second is refused after the seller answered
(outcome rejected, recorded for the seller, not charged, its answer withheld). Holding before
dispatch would close that gap at the cost of a second write transaction on every call.

A failed call is recorded (outcome, error reason, sizes, duration) in a transaction of its own and
answers with its error (domain/proxy/dispatch.py lists them).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlencode

from sqlalchemy import insert, select

from agentos_server.domain.caller import Caller
from agentos_server.domain.clock import Clock
from agentos_server.domain.errors import (
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Violations,
)
from agentos_server.domain.idempotency import Idempotency, IdempotencyKeyReused
from agentos_server.domain.ids import new_id, parse_name
from agentos_server.domain.ledger import USAGE_CHARGE, Ledger, PostedTransaction
from agentos_server.domain.licenses import PAY_PER_CALL, UNITS, UNMETERED, Licenses, LicenseView
from agentos_server.domain.money import Money, check_idempotency_key, fee_for
from agentos_server.domain.periods import month_end, month_key
from agentos_server.domain.proxy.dispatch import (
    AGENT_CHANNEL,
    HOSTED_SCRIPT,
    HTTPS,
    CallFailed,
    Dispatcher,
    SkillCall,
)
from agentos_server.domain.proxy.operations import prepare_call
from agentos_server.domain.proxy.purse import Purse, read_purse
from agentos_server.domain.proxy.usage import FAILED, REJECTED, SUCCEEDED, TIMED_OUT, UsageView
from agentos_server.infra.db import Database
from agentos_server.infra.pg_hot import BalanceChange, Claim, EntryRow
from agentos_server.infra.ratelimit import BURST, Limiter
from agentos_server.infra.settle_fast import FastSettlement, FastSettler
from agentos_server.infra.sql import table_of
from agentos_server.infra.tables.listings import SkillRow
from agentos_server.infra.tables.payment import IdempotencyKeyRow
from agentos_server.infra.tables.proxy import UsageRecordRow
from agentos_server.infra.tables.registry import AgentRow

log = logging.getLogger("agentos.proxy")

IDEMPOTENCY_OPERATION = "execution.ExecuteSkill"

JsonValue = Any


class CallCounter(Protocol):
    """Counts a call for seller analytics and the seller's execution success rate
    (domain/proxy/counts.py: in batches, off the hot path)."""

    def add(self, skill_id: str, seller_id: str, success: bool) -> None: ...


# --- the proxy -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProxyConfig:
    default_timeout_ms: int
    max_timeout_ms: int
    license_rate_per_second: int
    cache_seconds: float
    # The platform's share of a skill call's price (AGENTOS_PLATFORM_FEE_BPS), as charge_call takes it.
    skill_fee_bps: int


@dataclass(frozen=True)
class ExecuteRequest:
    skill: str
    operation: str
    payload: JsonValue
    idempotency_key: str = ""
    timeout_ms: int = 0


@dataclass(frozen=True)
class ExecuteResult:
    value: JsonValue
    usage: UsageView


@dataclass(frozen=True)
class SkillTarget:
    """What the proxy needs of a skill, read once and cached briefly."""

    id: str
    owner_id: str
    version: str
    openapi_spec: str
    endpoint: Mapping[str, Any]
    owner_active: bool

    @property
    def target(self) -> str:
        if "https_url" in self.endpoint:
            return HTTPS
        if HOSTED_SCRIPT in self.endpoint:
            return HOSTED_SCRIPT
        if AGENT_CHANNEL in self.endpoint:
            return AGENT_CHANNEL
        return ""


def _canonical(payload: JsonValue) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


class SkillProxy:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        ledger: Ledger,
        limiter: Limiter,
        targets: Mapping[str, Dispatcher],
        config: ProxyConfig,
        *,
        licences: Licenses,
        counter: CallCounter | None = None,
        fast: FastSettler | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._ledger = ledger
        self._limiter = limiter
        self._targets = dict(targets)
        self._config = config
        self._licences = licences
        # The settlement in one trip to the database, tried before the general path.
        self._fast = fast
        self._counter = counter
        self._idempotency = Idempotency("postgresql" if db.is_postgres else "sqlite")
        self._skills: dict[str, tuple[SkillTarget, float]] = {}
        self._licences_seen: dict[tuple[str, str], tuple[LicenseView, int | None, float]] = {}
        self._purses: dict[tuple[str, str], Purse] = {}
        # What calls in flight on this replica will need if they succeed: units per licence and
        # money per (buyer, asset). Checked before dispatch so one replica never sends more calls
        # than the buyer can pay for.
        self._units_in_flight: dict[str, int] = {}
        self._money_in_flight: dict[tuple[str, str], int] = {}
        self._keys_in_flight: dict[tuple[str, str], tuple[str, asyncio.Future[ExecuteResult | None]]] = {}

    # --- the skill -------------------------------------------------------------------------------

    async def _skill(self, skill_id: str) -> SkillTarget:
        now = time.monotonic()
        hit = self._skills.get(skill_id)
        if hit is not None and hit[1] > now:
            return hit[0]
        async with self._db.snapshot() as session:
            row = (
                await session.execute(
                    select(
                        SkillRow.id,
                        SkillRow.owner_id,
                        SkillRow.version,
                        SkillRow.openapi_spec,
                        SkillRow.endpoint,
                        AgentRow.state,
                    )
                    .join(AgentRow, AgentRow.id == SkillRow.owner_id)
                    .where(SkillRow.id == skill_id)
                )
            ).first()
        if row is None:
            raise NotFound(
                f"skills/{skill_id} does not exist", reason="SKILL_NOT_FOUND", metadata={"field": "skill"}
            )
        found = SkillTarget(
            id=row.id,
            owner_id=row.owner_id,
            version=row.version,
            openapi_spec=row.openapi_spec or "",
            endpoint=dict(row.endpoint or {}),
            owner_active=row.state == "active",
        )
        if self._config.cache_seconds > 0:
            if len(self._skills) > 10_000:
                self._skills.clear()
            self._skills[skill_id] = (found, now + self._config.cache_seconds)
        return found

    def set_fast_settlement(self, settler: FastSettler | None) -> None:
        """Turns the one-trip settlement on or off (off: every call settles on the general path)."""
        self._fast = settler

    def forget_skill(self, skill_id: str) -> None:
        self._skills.pop(skill_id, None)

    async def _licence(self, buyer_id: str, listing: str) -> tuple[LicenseView, int | None]:
        """The licence that counts for the call and the units left, or the licence's denial.

        A usable licence that is not metered by units (one-time, subscription, free, pay-per-call)
        is reused for AGENTOS_PROXY_CACHE_SECONDS: within that time a refund or a lapse is not yet
        seen by this replica's calls (they go on, and pay-per-call ones are charged). Unit
        licences are always read (their count decides the call), and denials are never kept, so a
        purchase takes effect at once.
        """
        now = time.monotonic()
        key = (buyer_id, listing)
        hit = self._licences_seen.get(key)
        if hit is not None and hit[2] > now:
            expires_at = hit[0].expires_at
            # A subscription that ends meanwhile ends on time, cache or not.
            if expires_at is None or self._clock.now() < expires_at:
                return hit[0], hit[1]
        check = await self._licences.check(buyer_id, listing)
        licence = check.require()
        if self._config.cache_seconds > 0 and licence.metering != UNITS:
            if len(self._licences_seen) > 100_000:
                self._licences_seen.clear()
            self._licences_seen[key] = (licence, check.remaining_units, now + self._config.cache_seconds)
        return licence, check.remaining_units

    # --- checks before dispatch ------------------------------------------------------------------

    async def _rate_limit(self, key: str) -> None:
        now = self._clock.now()
        rate = self._config.license_rate_per_second
        decision = await self._limiter.hit(
            key,
            now_ms=int(now.timestamp() * 1000),
            rate=rate,
            quota=None,
            month=month_key(now),
            month_ttl=int((month_end(now) - now).total_seconds()) + 86_400,
        )
        if decision.outcome == BURST:
            raise ResourceExhausted(
                f"more than {rate} calls a second under one licence; slow down",
                reason="RATE_LIMITED",
                metadata={"limit_per_second": str(rate), "scope": "license"},
                retry_after_seconds=max(decision.retry_after, 0.001),
            )

    async def _afford(self, buyer_id: str, skill_id: str, price: Money, in_flight: int) -> None:
        """Pay-per-call: the price must be available and inside every applicable budget, after what
        this replica's calls in flight will take (domain/proxy/purse.py)."""
        now = self._clock.now()
        key = (buyer_id, price.asset)
        purse = self._purses.get(key)
        if (
            purse is not None
            and purse.expires > time.monotonic()
            and purse.shortfall(skill_id, price, in_flight, now) is None
        ):
            return
        async with self._db.snapshot() as session:
            purse = await read_purse(session, self._ledger, buyer_id, price.asset, now)
        if self._config.cache_seconds > 0:
            purse.expires = time.monotonic() + self._config.cache_seconds
            if len(self._purses) > 100_000:
                self._purses.clear()
            self._purses[key] = purse
        problem = purse.shortfall(skill_id, price, in_flight, now)
        if problem is not None:
            raise problem

    # --- idempotency ---------------------------------------------------------------------------

    async def _replay(self, caller: Caller, key: str, digest: str) -> ExecuteResult | None:
        async with self._db.snapshot() as session:
            found = (
                await session.execute(
                    select(IdempotencyKeyRow.fingerprint, IdempotencyKeyRow.result).where(
                        IdempotencyKeyRow.caller == caller.name,
                        IdempotencyKeyRow.operation == IDEMPOTENCY_OPERATION,
                        IdempotencyKeyRow.key == key,
                    )
                )
            ).first()
            if found is None:
                return None
            if found.fingerprint != digest:
                raise IdempotencyKeyReused(IDEMPOTENCY_OPERATION, key)
            row = await session.get(UsageRecordRow, str(found.result).removeprefix("usageRecords/"))
        if row is None:
            return None
        return ExecuteResult(row.result, UsageView.of(row))

    # --- the call --------------------------------------------------------------------------------

    async def execute(self, caller: Caller, request: ExecuteRequest, *, execution: str = "") -> ExecuteResult:
        v = Violations()
        try:
            skill_id = parse_name(request.skill, "skills", "skill")
        except InvalidArgument as error:
            v.extend(error)
            skill_id = ""
        if not request.operation:
            v.add("operation", 'is required: an operationId or "METHOD /path" of the skill')
        key = request.idempotency_key
        if key:
            check_idempotency_key(v, key)
        if request.timeout_ms < 0:
            v.add("timeout_ms", "must not be negative (0 means the server default)")
        try:
            body = _canonical(request.payload)
        except ValueError:
            v.add("payload", "must be JSON (NaN and infinities are not)")
            body = b""
        v.raise_if_any()

        if not key:
            return await self._execute(caller, request, skill_id, body, "", execution)
        digest = hashlib.sha256(
            json.dumps([skill_id, request.operation], separators=(",", ":")).encode() + b"\0" + body
        ).hexdigest()
        slot = (caller.agent_id, key)
        while (running := self._keys_in_flight.get(slot)) is not None:
            # The same key is being served on this replica: answer as that call does, or run if it
            # failed and so left nothing to repeat.
            first_digest, outcome = running
            if first_digest != digest:
                raise IdempotencyKeyReused(IDEMPOTENCY_OPERATION, key)
            answered = await asyncio.shield(outcome)
            if answered is not None:
                return answered
        # Claimed before the first await, so a concurrent repeat on this replica always finds it;
        # repeats on other replicas meet the stored claim in _settle instead.
        outcome = asyncio.get_running_loop().create_future()
        self._keys_in_flight[slot] = (digest, outcome)
        answer: ExecuteResult | None = None
        try:
            answer = await self._replay(caller, key, digest)
            if answer is None:
                answer = await self._execute(caller, request, skill_id, body, digest, execution)
            return answer
        finally:
            self._keys_in_flight.pop(slot, None)
            outcome.set_result(answer)

    async def _execute(
        self, caller: Caller, request: ExecuteRequest, skill_id: str, body: bytes, digest: str, execution: str
    ) -> ExecuteResult:
        buyer_id = caller.agent_id
        skill = await self._skill(skill_id)
        if not skill.owner_active:
            raise FailedPrecondition(
                f"agents/{skill.owner_id}, the seller of skills/{skill_id}, is deactivated",
                reason="SELLER_DEACTIVATED",
            )
        target = skill.target
        dispatcher = self._targets.get(target)
        if dispatcher is None:
            raise FailedPrecondition(f"skills/{skill_id} has no endpoint to call", reason="NO_ENDPOINT")
        listing = f"skills/{skill_id}"

        licence: LicenseView | None = None
        remaining: int | None = None
        metering = UNMETERED
        price: Money | None = None
        if buyer_id != skill.owner_id:
            licence, remaining = await self._licence(buyer_id, listing)
            metering = licence.metering
            await self._rate_limit(f"license:{licence.id}")
        else:
            # A seller trying its own skill needs no licence and pays nothing, but is limited alike.
            await self._rate_limit(f"owner:{skill_id}")
        prepared = prepare_call(skill.openapi_spec, request.operation, request.payload, http=target == HTTPS)
        if licence is not None and metering == PAY_PER_CALL:
            price = licence.price
            await self._afford(
                buyer_id, skill_id, price, self._money_in_flight.get((buyer_id, price.asset), 0)
            )

        unit_key: str | None = None
        money_key: tuple[str, str] | None = None
        if licence is not None and metering == UNITS:
            unit_key = licence.id
            in_flight = self._units_in_flight.get(unit_key, 0)
            if remaining is not None and in_flight >= remaining:
                raise FailedPrecondition(
                    f"every remaining unit of licenses/{licence.id} is taken by a call in flight; "
                    "retry when one finishes",
                    reason="LICENSE_EXHAUSTED",
                    metadata={"license": f"licenses/{licence.id}", "in_flight": str(in_flight)},
                )
            self._units_in_flight[unit_key] = in_flight + 1
        elif price is not None:
            money_key = (buyer_id, price.asset)
            self._money_in_flight[money_key] = self._money_in_flight.get(money_key, 0) + price.amount

        loop = asyncio.get_running_loop()
        timeout_ms = min(request.timeout_ms or self._config.default_timeout_ms, self._config.max_timeout_ms)
        call = SkillCall(
            call_id=new_id(),
            skill_id=skill_id,
            skill_version=skill.version,
            seller_id=skill.owner_id,
            buyer_id=buyer_id,
            prepared=prepared,
            payload=request.payload,
            body=body,
            endpoint=skill.endpoint,
            deadline=loop.time() + timeout_ms / 1000,
        )
        record: dict[str, Any] = dict(
            id=call.call_id,
            skill_id=skill_id,
            skill_version=skill.version,
            buyer_id=buyer_id,
            seller_id=skill.owner_id,
            license_id=licence.id if licence is not None else "",
            operation=prepared.operation,
            target=target,
            # What went to the seller: the JSON body, or the query string of a bodyless operation.
            request_bytes=len(body) if prepared.has_body else len(urlencode(prepared.query)),
            response_bytes=0,
            duration_ms=0,
            cost_asset="",
            cost_amount=0,
            used_unit=False,
            outcome=SUCCEEDED,
            error_reason="",
            execution=execution,
            transaction_id=None,
            result=None,
        )
        started = time.perf_counter()
        try:
            try:
                answer = await dispatcher.dispatch(call)
            except CallFailed as failed:
                record["duration_ms"] = _ms_since(started)
                record["response_bytes"] = failed.response_bytes
                record["outcome"] = TIMED_OUT if failed.outcome == "timed_out" else FAILED
                record["error_reason"] = failed.error.reason
                await self._record(record, success=False)
                raise failed.error from None
            record["duration_ms"] = _ms_since(started)
            record["response_bytes"] = answer.response_bytes
            if digest:
                record["result"] = answer.value
            try:
                settled = await self._settle(
                    caller, record, metering, licence, listing, request.idempotency_key, digest
                )
            except _Repeat as repeat:
                return repeat.result
            except DomainError as refused:
                self._licences_seen.pop((buyer_id, listing), None)
                if price is not None:
                    self._purses.pop((buyer_id, price.asset), None)
                # The seller did answer: the call counts as a success for its reputation.
                rejected = record | {"outcome": REJECTED, "error_reason": refused.reason, "result": None}
                await self._record(rejected, success=True)
                raise
        finally:
            if unit_key is not None:
                self._release(self._units_in_flight, unit_key, 1)
            if money_key is not None and price is not None:
                self._release(self._money_in_flight, money_key, price.amount)
        if price is not None and settled.cost_amount:
            purse = self._purses.get((buyer_id, price.asset))
            if purse is not None:
                purse.spend(skill_id, settled.cost_amount, settled.created_at)
        return ExecuteResult(answer.value, settled)

    @staticmethod
    def _release(counts: dict[Any, int], key: Any, amount: int) -> None:
        left = counts.get(key, 0) - amount
        if left > 0:
            counts[key] = left
        else:
            counts.pop(key, None)

    def _fast_write(
        self,
        caller: Caller,
        record: dict[str, Any],
        metering: str,
        licence: LicenseView | None,
        listing: str,
        key: str,
        digest: str,
        now: datetime,
    ) -> tuple[FastSettlement, PostedTransaction | None] | None:
        """The settlement as one write (infra/settle_fast.py), with exactly the rows the general
        path below writes; None where only the general path applies."""
        usage = {**record, "created_at": now}
        changes: Sequence[BalanceChange] = ()
        entries: Sequence[EntryRow] = ()
        transaction: dict[str, Any] | None = None
        posted: PostedTransaction | None = None
        budget_agent: str | None = None
        unit: str | None = None
        if licence is not None and metering == PAY_PER_CALL:
            price = licence.price
            try:
                plan = self._ledger.plan_payment(
                    caller.agent_id,
                    licence.seller_id,
                    price,
                    fee_amount=fee_for(price.amount, self._config.skill_fee_bps),
                    kind=USAGE_CHARGE,
                    reference=record_name(record["id"]),
                    memo=f"one call of {listing} under {licence.name}",
                    initiator=caller.name,
                    idempotency_key=f"usage:{record['id']}",
                    transaction_id=None,
                )
            except DomainError:
                return None
            if plan is None:
                return None
            posted = plan.posted
            changes, entries, transaction = plan.changes, plan.entries, plan.transaction_row
            budget_agent = caller.agent_id
            usage |= {"transaction_id": posted.id, "cost_asset": price.asset, "cost_amount": price.amount}
        elif licence is not None and metering == UNITS:
            unit = licence.id
            usage["used_unit"] = True
        claim = (
            Claim(caller.name, IDEMPOTENCY_OPERATION, key, digest, record_name(record["id"])) if key else None
        )
        write = FastSettlement(
            now=now,
            claim=claim,
            budget_agent=budget_agent,
            budget_asset=licence.price.asset if licence is not None else "",
            budget_scopes=(listing,),
            changes=changes,
            transaction=transaction,
            entries=entries,
            license_unit=unit,
            usage=usage,
        )
        return write, posted

    async def _settle(
        self,
        caller: Caller,
        record: dict[str, Any],
        metering: str,
        licence: LicenseView | None,
        listing: str,
        key: str,
        digest: str,
    ) -> UsageView:
        if self._fast is not None:
            now = self._clock.now()
            planned = self._fast_write(caller, record, metering, licence, listing, key, digest, now)
            if planned is not None and await self._fast.settle(planned[0]):
                write, posted = planned
                if posted is not None:
                    self._ledger.record_posted(posted)
                if self._counter is not None:
                    self._counter.add(record["skill_id"], record["seller_id"], True)
                return UsageView.of_values(write.usage)
        async with self._db.transaction() as session:
            now = self._clock.now()
            if key:
                prior = await self._idempotency.claim(
                    session,
                    caller=caller.name,
                    operation=IDEMPOTENCY_OPERATION,
                    key=key,
                    fingerprint=digest,
                    result=record_name(record["id"]),
                    now=now,
                )
                if prior is not None:
                    # The same key settled on another replica while this call was in flight.
                    first = await session.get(UsageRecordRow, prior.removeprefix("usageRecords/"))
                    if first is not None:
                        raise _Repeat(ExecuteResult(first.result, UsageView.of(first)))
            row = UsageRecordRow(**record, created_at=now)
            if metering == UNITS:
                await self._licences.consume(caller.agent_id, listing, session=session)
                row.used_unit = True
            elif licence is not None and metering == PAY_PER_CALL:
                posted = await self._licences.charge_call(
                    licence, idempotency_key=f"usage:{row.id}", reference=record_name(row.id), session=session
                )
                row.transaction_id = posted.id
                row.cost_asset = licence.price.asset
                row.cost_amount = licence.price.amount
            # Core, not the unit of work: this insert is on every call's path.
            await session.execute(insert(_USAGE), _columns(row))
        if self._counter is not None:
            self._counter.add(row.skill_id, row.seller_id, True)
        return UsageView.of(row)

    async def _record(self, record: dict[str, Any], *, success: bool) -> None:
        """Writes a call that was not settled (failed, timed out, or rejected after it succeeded)."""
        try:
            async with self._db.transaction() as session:
                await session.execute(insert(_USAGE), {**record, "created_at": self._clock.now()})
            if self._counter is not None:
                self._counter.add(record["skill_id"], record["seller_id"], success)
        except Exception:
            # The buyer must still learn why its call failed; a lost record is logged instead.
            log.exception("could not record usage of %s", record_name(record["id"]))


class _Repeat(Exception):
    def __init__(self, result: ExecuteResult) -> None:
        super().__init__("repeat")
        self.result = result


_USAGE = table_of(UsageRecordRow)


def _columns(row: UsageRecordRow) -> dict[str, Any]:
    return {column.name: getattr(row, column.name) for column in _USAGE.columns}


def record_name(record_id: str) -> str:
    return f"usageRecords/{record_id}"


def _ms_since(started: float) -> int:
    return max(0, round((time.perf_counter() - started) * 1000))

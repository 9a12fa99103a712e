"""agentos.payment.v1.PaymentService: the ledger, holds, budgets, credits, tiers, x402, Solana."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agentos.common.v1 import common_pb2
from agentos.payment.v1 import payment_pb2 as pb
from agentos_server.api import context
from agentos_server.api.servicers import service, timestamp
from agentos_server.domain.billing import ServicePrice, SubscriptionView
from agentos_server.domain.budgets import BudgetView
from agentos_server.domain.errors import Violations
from agentos_server.domain.ledger import HoldView, PostedTransaction, WalletView
from agentos_server.domain.money import Asset, Money
from agentos_server.domain.payments import DepositSource, Payments, WithdrawalView
from agentos_server.domain.tiers import Tier
from agentos_server.domain.wallets import ChainFamily

Ctx = Any

_X402 = "the x402 facilitator is planned work that no open issue schedules yet"
_SOLANA = "Solana payment verification is planned work that no open issue schedules yet"

_KINDS: dict[str, Any] = {
    name.removeprefix("TRANSACTION_KIND_").lower(): value
    for name, value in pb.TransactionKind.items()
    if value != pb.TRANSACTION_KIND_UNSPECIFIED
}
_KIND_NAMES = {value: name for name, value in _KINDS.items()}
_HOLD_STATES: dict[str, Any] = {
    name.removeprefix("HOLD_STATE_").lower(): value
    for name, value in pb.HoldState.items()
    if value != pb.HOLD_STATE_UNSPECIFIED
}
_HOLD_STATE_NAMES = {value: name for name, value in _HOLD_STATES.items()}
_WITHDRAWAL_STATES: dict[str, Any] = {
    name.removeprefix("WITHDRAWAL_STATE_").lower(): value
    for name, value in pb.WithdrawalState.items()
    if value != pb.WITHDRAWAL_STATE_UNSPECIFIED
}
_WITHDRAWAL_STATE_NAMES = {value: name for name, value in _WITHDRAWAL_STATES.items()}
_PERIODS = {pb.BUDGET_PERIOD_DAY: "day", pb.BUDGET_PERIOD_MONTH: "month"}
_PERIOD_PROTO = {value: key for key, value in _PERIODS.items()}
_TIERS: dict[str, Any] = {
    name.removeprefix("SUBSCRIPTION_TIER_").lower(): value
    for name, value in pb.SubscriptionTier.items()
    if value != pb.SUBSCRIPTION_TIER_UNSPECIFIED
}
_TIER_NAMES = {value: name for name, value in _TIERS.items()}
_CHAINS = {common_pb2.CHAIN_EVM: ChainFamily.EVM, common_pb2.CHAIN_SOLANA: ChainFamily.SOLANA}
_CHAIN_PROTO = {value.value: key for key, value in _CHAINS.items()}


def money(message: common_pb2.Money) -> Money:
    return Money(message.asset, message.amount)


def money_proto(asset: str, amount: int) -> common_pb2.Money:
    return common_pb2.Money(asset=asset, amount=amount)


def _time(message: Any, field: str) -> datetime | None:
    if not message.HasField(field):
        return None
    value: datetime = getattr(message, field).ToDatetime(tzinfo=UTC)
    return value


def asset_proto(asset: Asset) -> pb.Asset:
    return pb.Asset(code=asset.code, decimals=asset.decimals, description=asset.description)


def wallet_proto(view: WalletView) -> pb.Wallet:
    return pb.Wallet(
        name=view.name,
        asset=view.asset,
        available=view.available,
        held=view.held,
        update_time=timestamp(view.updated_at),
    )


def transaction_proto(posted: PostedTransaction) -> pb.Transaction:
    return pb.Transaction(
        name=posted.name,
        kind=_KINDS.get(posted.kind, pb.TRANSACTION_KIND_UNSPECIFIED),
        entries=[pb.Entry(account=e.account, asset=e.asset, amount=e.amount) for e in posted.entries],
        memo=posted.memo,
        initiator=posted.initiator,
        idempotency_key=posted.idempotency_key,
        reference=posted.reference,
        reverses=f"transactions/{posted.reverses}" if posted.reverses else "",
        create_time=timestamp(posted.created_at),
    )


def hold_proto(hold: HoldView) -> pb.Hold:
    return pb.Hold(
        name=hold.name,
        agent=f"agents/{hold.agent_id}",
        amount=money_proto(hold.asset, hold.amount),
        captured_amount=hold.captured_amount,
        state=_HOLD_STATES.get(hold.state, pb.HOLD_STATE_UNSPECIFIED),
        purpose=hold.purpose,
        reference=hold.reference,
        expire_time=timestamp(hold.expires_at),
        create_time=timestamp(hold.created_at),
        resolve_time=timestamp(hold.resolved_at),
    )


def withdrawal_proto(found: WithdrawalView) -> pb.Withdrawal:
    return pb.Withdrawal(
        name=found.name,
        agent=f"agents/{found.agent_id}",
        amount=money_proto(found.asset, found.amount),
        destination=common_pb2.ExternalWallet(
            chain=_CHAIN_PROTO.get(found.chain, common_pb2.CHAIN_UNSPECIFIED), address=found.address
        ),
        state=_WITHDRAWAL_STATES.get(found.state, pb.WITHDRAWAL_STATE_UNSPECIFIED),
        hold=f"holds/{found.hold_id}",
        external_reference=found.external_reference,
        reject_reason=found.reject_reason,
        create_time=timestamp(found.created_at),
        resolve_time=timestamp(found.resolved_at),
    )


def budget_proto(view: BudgetView) -> pb.Budget:
    row = view.row
    return pb.Budget(
        name=view.name,
        scope=row.scope,
        period=_PERIOD_PROTO.get(row.period, pb.BUDGET_PERIOD_UNSPECIFIED),
        limit=money_proto(row.asset, row.limit_amount),
        spent=view.spent,
        remaining=view.remaining,
        period_start_time=timestamp(view.period_start),
        period_end_time=timestamp(view.period_end),
        etag=view.etag,
    )


def tier_proto(tier: Tier) -> pb.Tier:
    return pb.Tier(
        tier=_TIERS[tier.code],
        display_name=tier.display_name,
        monthly_price=money_proto("USDC", tier.monthly_price),
        monthly_credits=tier.monthly_credits,
        unlimited_credits=tier.unlimited_credits,
        monthly_api_calls=tier.monthly_api_calls,
        unlimited_api_calls=tier.unlimited_api_calls,
        burst_per_second=tier.burst_per_second,
    )


def subscription_proto(view: SubscriptionView) -> pb.Subscription:
    return pb.Subscription(
        name=view.name,
        tier=_TIERS[view.tier],
        current_period_start_time=timestamp(view.period_start),
        current_period_end_time=timestamp(view.period_end),
        credits_granted=view.credits_granted,
    )


def price_proto(price: ServicePrice) -> pb.ServicePrice:
    return pb.ServicePrice(
        service=price.service,
        display_name=price.display_name,
        price=money_proto(price.price.asset, price.price.amount),
        unit=price.unit,
    )


def deposit_source(request: pb.DepositRequest) -> DepositSource:
    which = request.WhichOneof("source") or ""
    note = request.operator.note if which == "operator" else ""
    return DepositSource(which, note)


@service(
    pb.DESCRIPTOR.services_by_name["PaymentService"],
    pending={
        "GetX402Supported": _X402,
        "VerifyX402Payment": _X402,
        "SettleX402Payment": _X402,
        "VerifySolanaPayment": _SOLANA,
        "CreateSolanaPayRequest": _SOLANA,
    },
)
class PaymentServicer:
    def __init__(self, payments: Payments) -> None:
        self._p = payments

    # --- ledger ---------------------------------------------------------------------------------

    async def ListAssets(self, request: pb.ListAssetsRequest, ctx: Ctx) -> pb.ListAssetsResponse:
        return pb.ListAssetsResponse(assets=[asset_proto(a) for a in self._p.list_assets()])

    async def GetWallet(self, request: pb.GetWalletRequest, ctx: Ctx) -> pb.GetWalletResponse:
        view = await self._p.get_wallet(context.caller(), request.name)
        return pb.GetWalletResponse(wallet=wallet_proto(view))

    async def ListWallets(self, request: pb.ListWalletsRequest, ctx: Ctx) -> pb.ListWalletsResponse:
        views, token = await self._p.list_wallets(
            context.caller(), request.parent, size=request.page_size, token=request.page_token
        )
        return pb.ListWalletsResponse(wallets=[wallet_proto(v) for v in views], next_page_token=token)

    async def Deposit(self, request: pb.DepositRequest, ctx: Ctx) -> pb.DepositResponse:
        posted, view = await self._p.deposit(
            context.caller(),
            request.agent,
            money(request.amount),
            deposit_source(request),
            request.idempotency_key,
        )
        return pb.DepositResponse(transaction=transaction_proto(posted), wallet=wallet_proto(view))

    async def Withdraw(self, request: pb.WithdrawRequest, ctx: Ctx) -> pb.WithdrawResponse:
        found = await self._p.withdraw(
            context.caller(),
            money(request.amount),
            _CHAINS.get(request.destination.chain),
            request.destination.address,
            request.idempotency_key,
        )
        return pb.WithdrawResponse(withdrawal=withdrawal_proto(found))

    async def GetWithdrawal(self, request: pb.GetWithdrawalRequest, ctx: Ctx) -> pb.GetWithdrawalResponse:
        found = await self._p.get_withdrawal(context.caller(), request.name)
        return pb.GetWithdrawalResponse(withdrawal=withdrawal_proto(found))

    async def ListWithdrawals(
        self, request: pb.ListWithdrawalsRequest, ctx: Ctx
    ) -> pb.ListWithdrawalsResponse:
        found, token = await self._p.list_withdrawals(
            context.caller(),
            request.parent,
            state=_WITHDRAWAL_STATE_NAMES.get(request.state, ""),
            size=request.page_size,
            token=request.page_token,
        )
        return pb.ListWithdrawalsResponse(
            withdrawals=[withdrawal_proto(w) for w in found], next_page_token=token
        )

    async def CompleteWithdrawal(
        self, request: pb.CompleteWithdrawalRequest, ctx: Ctx
    ) -> pb.CompleteWithdrawalResponse:
        found = await self._p.complete_withdrawal(context.caller(), request.name, request.external_reference)
        return pb.CompleteWithdrawalResponse(withdrawal=withdrawal_proto(found))

    async def RejectWithdrawal(
        self, request: pb.RejectWithdrawalRequest, ctx: Ctx
    ) -> pb.RejectWithdrawalResponse:
        found = await self._p.reject_withdrawal(context.caller(), request.name, request.reason)
        return pb.RejectWithdrawalResponse(withdrawal=withdrawal_proto(found))

    async def Transfer(self, request: pb.TransferRequest, ctx: Ctx) -> pb.TransferResponse:
        posted = await self._p.transfer(
            context.caller(), request.recipient, money(request.amount), request.memo, request.idempotency_key
        )
        return pb.TransferResponse(transaction=transaction_proto(posted))

    async def GetTransaction(self, request: pb.GetTransactionRequest, ctx: Ctx) -> pb.GetTransactionResponse:
        posted = await self._p.get_transaction(context.caller(), request.name)
        return pb.GetTransactionResponse(transaction=transaction_proto(posted))

    async def ListTransactions(
        self, request: pb.ListTransactionsRequest, ctx: Ctx
    ) -> pb.ListTransactionsResponse:
        v = Violations()
        kind = _KIND_NAMES.get(request.kind, "")
        if request.kind and not kind:
            v.add("kind", "is not a TransactionKind")
        v.raise_if_any()
        found, token = await self._p.list_transactions(
            context.caller(),
            request.parent,
            asset=request.asset,
            kind=kind,
            start=_time(request, "start_time"),
            end=_time(request, "end_time"),
            size=request.page_size,
            token=request.page_token,
        )
        return pb.ListTransactionsResponse(
            transactions=[transaction_proto(t) for t in found], next_page_token=token
        )

    # --- holds ----------------------------------------------------------------------------------

    async def CreateHold(self, request: pb.CreateHoldRequest, ctx: Ctx) -> pb.CreateHoldResponse:
        hold = await self._p.create_hold(
            context.caller(),
            money(request.amount),
            request.purpose,
            request.ttl_seconds,
            request.idempotency_key,
        )
        return pb.CreateHoldResponse(hold=hold_proto(hold))

    async def CaptureHold(self, request: pb.CaptureHoldRequest, ctx: Ctx) -> pb.CaptureHoldResponse:
        hold, posted = await self._p.capture_hold(
            context.caller(), request.name, request.amount, request.payee, request.idempotency_key
        )
        return pb.CaptureHoldResponse(hold=hold_proto(hold), transaction=transaction_proto(posted))

    async def ReleaseHold(self, request: pb.ReleaseHoldRequest, ctx: Ctx) -> pb.ReleaseHoldResponse:
        hold = await self._p.release_hold(context.caller(), request.name, request.idempotency_key)
        return pb.ReleaseHoldResponse(hold=hold_proto(hold))

    async def GetHold(self, request: pb.GetHoldRequest, ctx: Ctx) -> pb.GetHoldResponse:
        return pb.GetHoldResponse(hold=hold_proto(await self._p.get_hold(context.caller(), request.name)))

    async def ListHolds(self, request: pb.ListHoldsRequest, ctx: Ctx) -> pb.ListHoldsResponse:
        found, token = await self._p.list_holds(
            context.caller(),
            request.parent,
            state=_HOLD_STATE_NAMES.get(request.state, ""),
            size=request.page_size,
            token=request.page_token,
        )
        return pb.ListHoldsResponse(holds=[hold_proto(h) for h in found], next_page_token=token)

    # --- budgets --------------------------------------------------------------------------------

    async def CreateBudget(self, request: pb.CreateBudgetRequest, ctx: Ctx) -> pb.CreateBudgetResponse:
        budget = request.budget
        view = await self._p.budgets.create(
            context.caller(),
            request.parent,
            budget.scope,
            _PERIODS.get(budget.period, ""),
            money(budget.limit),
        )
        return pb.CreateBudgetResponse(budget=budget_proto(view))

    async def GetBudget(self, request: pb.GetBudgetRequest, ctx: Ctx) -> pb.GetBudgetResponse:
        view = await self._p.budgets.get(context.caller(), request.name)
        return pb.GetBudgetResponse(budget=budget_proto(view))

    async def ListBudgets(self, request: pb.ListBudgetsRequest, ctx: Ctx) -> pb.ListBudgetsResponse:
        views, token = await self._p.budgets.list(
            context.caller(), request.parent, size=request.page_size, token=request.page_token
        )
        return pb.ListBudgetsResponse(budgets=[budget_proto(v) for v in views], next_page_token=token)

    async def UpdateBudget(self, request: pb.UpdateBudgetRequest, ctx: Ctx) -> pb.UpdateBudgetResponse:
        if request.HasField("update_mask"):
            paths = set(request.update_mask.paths)
        else:
            paths = {"limit"} if request.budget.HasField("limit") else set()
        view = await self._p.budgets.update(
            context.caller(), request.budget.name, paths, money(request.budget.limit), request.budget.etag
        )
        return pb.UpdateBudgetResponse(budget=budget_proto(view))

    async def DeleteBudget(self, request: pb.DeleteBudgetRequest, ctx: Ctx) -> pb.DeleteBudgetResponse:
        await self._p.budgets.delete(context.caller(), request.name)
        return pb.DeleteBudgetResponse()

    # --- credits, tiers, quotas -----------------------------------------------------------------

    async def BuyCredits(self, request: pb.BuyCreditsRequest, ctx: Ctx) -> pb.BuyCreditsResponse:
        posted, price = await self._p.billing.buy_credits(
            context.caller(), request.credits, request.idempotency_key
        )
        return pb.BuyCreditsResponse(
            transaction=transaction_proto(posted), price=money_proto(price.asset, price.amount)
        )

    async def ListTiers(self, request: pb.ListTiersRequest, ctx: Ctx) -> pb.ListTiersResponse:
        return pb.ListTiersResponse(tiers=[tier_proto(t) for t in self._p.billing.tiers.all()])

    async def GetSubscription(
        self, request: pb.GetSubscriptionRequest, ctx: Ctx
    ) -> pb.GetSubscriptionResponse:
        view = await self._p.billing.get_subscription(context.caller(), request.name)
        return pb.GetSubscriptionResponse(subscription=subscription_proto(view))

    async def ChangeSubscription(
        self, request: pb.ChangeSubscriptionRequest, ctx: Ctx
    ) -> pb.ChangeSubscriptionResponse:
        view, posted = await self._p.billing.change_subscription(
            context.caller(), request.name, _TIER_NAMES.get(request.tier, ""), request.idempotency_key
        )
        response = pb.ChangeSubscriptionResponse(subscription=subscription_proto(view))
        if posted is not None:
            response.transaction.CopyFrom(transaction_proto(posted))
        return response

    async def GetApiUsage(self, request: pb.GetApiUsageRequest, ctx: Ctx) -> pb.GetApiUsageResponse:
        usage = await self._p.api_usage(context.caller(), request.agent)
        return pb.GetApiUsageResponse(
            tier=_TIERS[usage.tier.code],
            calls_used=usage.calls_used,
            calls_quota=0 if usage.tier.unlimited_api_calls else usage.tier.monthly_api_calls,
            unlimited=usage.tier.unlimited_api_calls,
            period_end_time=timestamp(usage.period_end),
            burst_per_second=usage.tier.burst_per_second,
        )

    async def ListServicePrices(
        self, request: pb.ListServicePricesRequest, ctx: Ctx
    ) -> pb.ListServicePricesResponse:
        return pb.ListServicePricesResponse(prices=[price_proto(p) for p in self._p.billing.prices.all()])

    async def CheckLedger(self, request: pb.CheckLedgerRequest, ctx: Ctx) -> pb.CheckLedgerResponse:
        report = await self._p.check_ledger(context.caller())
        return pb.CheckLedgerResponse(
            balanced=report.balanced,
            accounts_checked=report.accounts_checked,
            transactions_checked=report.transactions_checked,
            problems=report.problems,
        )

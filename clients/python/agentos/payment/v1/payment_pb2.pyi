import datetime

from agentos.common.v1 import common_pb2 as _common_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TransactionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSACTION_KIND_UNSPECIFIED: _ClassVar[TransactionKind]
    TRANSACTION_KIND_DEPOSIT: _ClassVar[TransactionKind]
    TRANSACTION_KIND_WITHDRAWAL: _ClassVar[TransactionKind]
    TRANSACTION_KIND_TRANSFER: _ClassVar[TransactionKind]
    TRANSACTION_KIND_PURCHASE: _ClassVar[TransactionKind]
    TRANSACTION_KIND_REFUND: _ClassVar[TransactionKind]
    TRANSACTION_KIND_HOLD: _ClassVar[TransactionKind]
    TRANSACTION_KIND_CAPTURE: _ClassVar[TransactionKind]
    TRANSACTION_KIND_RELEASE: _ClassVar[TransactionKind]
    TRANSACTION_KIND_CREDIT_PURCHASE: _ClassVar[TransactionKind]
    TRANSACTION_KIND_CREDIT_GRANT: _ClassVar[TransactionKind]
    TRANSACTION_KIND_USAGE_CHARGE: _ClassVar[TransactionKind]
    TRANSACTION_KIND_SUBSCRIPTION: _ClassVar[TransactionKind]
    TRANSACTION_KIND_ADJUSTMENT: _ClassVar[TransactionKind]

class WithdrawalState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WITHDRAWAL_STATE_UNSPECIFIED: _ClassVar[WithdrawalState]
    WITHDRAWAL_STATE_PENDING: _ClassVar[WithdrawalState]
    WITHDRAWAL_STATE_COMPLETED: _ClassVar[WithdrawalState]
    WITHDRAWAL_STATE_REJECTED: _ClassVar[WithdrawalState]

class HoldState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HOLD_STATE_UNSPECIFIED: _ClassVar[HoldState]
    HOLD_STATE_ACTIVE: _ClassVar[HoldState]
    HOLD_STATE_CAPTURED: _ClassVar[HoldState]
    HOLD_STATE_RELEASED: _ClassVar[HoldState]
    HOLD_STATE_EXPIRED: _ClassVar[HoldState]

class BudgetPeriod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BUDGET_PERIOD_UNSPECIFIED: _ClassVar[BudgetPeriod]
    BUDGET_PERIOD_DAY: _ClassVar[BudgetPeriod]
    BUDGET_PERIOD_MONTH: _ClassVar[BudgetPeriod]

class SubscriptionTier(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUBSCRIPTION_TIER_UNSPECIFIED: _ClassVar[SubscriptionTier]
    SUBSCRIPTION_TIER_FREE: _ClassVar[SubscriptionTier]
    SUBSCRIPTION_TIER_PRO: _ClassVar[SubscriptionTier]
    SUBSCRIPTION_TIER_SCALE: _ClassVar[SubscriptionTier]
    SUBSCRIPTION_TIER_ENTERPRISE: _ClassVar[SubscriptionTier]
TRANSACTION_KIND_UNSPECIFIED: TransactionKind
TRANSACTION_KIND_DEPOSIT: TransactionKind
TRANSACTION_KIND_WITHDRAWAL: TransactionKind
TRANSACTION_KIND_TRANSFER: TransactionKind
TRANSACTION_KIND_PURCHASE: TransactionKind
TRANSACTION_KIND_REFUND: TransactionKind
TRANSACTION_KIND_HOLD: TransactionKind
TRANSACTION_KIND_CAPTURE: TransactionKind
TRANSACTION_KIND_RELEASE: TransactionKind
TRANSACTION_KIND_CREDIT_PURCHASE: TransactionKind
TRANSACTION_KIND_CREDIT_GRANT: TransactionKind
TRANSACTION_KIND_USAGE_CHARGE: TransactionKind
TRANSACTION_KIND_SUBSCRIPTION: TransactionKind
TRANSACTION_KIND_ADJUSTMENT: TransactionKind
WITHDRAWAL_STATE_UNSPECIFIED: WithdrawalState
WITHDRAWAL_STATE_PENDING: WithdrawalState
WITHDRAWAL_STATE_COMPLETED: WithdrawalState
WITHDRAWAL_STATE_REJECTED: WithdrawalState
HOLD_STATE_UNSPECIFIED: HoldState
HOLD_STATE_ACTIVE: HoldState
HOLD_STATE_CAPTURED: HoldState
HOLD_STATE_RELEASED: HoldState
HOLD_STATE_EXPIRED: HoldState
BUDGET_PERIOD_UNSPECIFIED: BudgetPeriod
BUDGET_PERIOD_DAY: BudgetPeriod
BUDGET_PERIOD_MONTH: BudgetPeriod
SUBSCRIPTION_TIER_UNSPECIFIED: SubscriptionTier
SUBSCRIPTION_TIER_FREE: SubscriptionTier
SUBSCRIPTION_TIER_PRO: SubscriptionTier
SUBSCRIPTION_TIER_SCALE: SubscriptionTier
SUBSCRIPTION_TIER_ENTERPRISE: SubscriptionTier

class Asset(_message.Message):
    __slots__ = ("code", "decimals", "description")
    CODE_FIELD_NUMBER: _ClassVar[int]
    DECIMALS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    code: str
    decimals: int
    description: str
    def __init__(self, code: _Optional[str] = ..., decimals: _Optional[int] = ..., description: _Optional[str] = ...) -> None: ...

class ListAssetsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListAssetsResponse(_message.Message):
    __slots__ = ("assets",)
    ASSETS_FIELD_NUMBER: _ClassVar[int]
    assets: _containers.RepeatedCompositeFieldContainer[Asset]
    def __init__(self, assets: _Optional[_Iterable[_Union[Asset, _Mapping]]] = ...) -> None: ...

class Wallet(_message.Message):
    __slots__ = ("name", "asset", "available", "held", "update_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ASSET_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    HELD_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    asset: str
    available: int
    held: int
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., asset: _Optional[str] = ..., available: _Optional[int] = ..., held: _Optional[int] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetWalletRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetWalletResponse(_message.Message):
    __slots__ = ("wallet",)
    WALLET_FIELD_NUMBER: _ClassVar[int]
    wallet: Wallet
    def __init__(self, wallet: _Optional[_Union[Wallet, _Mapping]] = ...) -> None: ...

class ListWalletsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListWalletsResponse(_message.Message):
    __slots__ = ("wallets", "next_page_token")
    WALLETS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    wallets: _containers.RepeatedCompositeFieldContainer[Wallet]
    next_page_token: str
    def __init__(self, wallets: _Optional[_Iterable[_Union[Wallet, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Entry(_message.Message):
    __slots__ = ("account", "asset", "amount")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    ASSET_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    account: str
    asset: str
    amount: int
    def __init__(self, account: _Optional[str] = ..., asset: _Optional[str] = ..., amount: _Optional[int] = ...) -> None: ...

class Transaction(_message.Message):
    __slots__ = ("name", "kind", "entries", "memo", "initiator", "idempotency_key", "reference", "reverses", "create_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    MEMO_FIELD_NUMBER: _ClassVar[int]
    INITIATOR_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    REVERSES_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: TransactionKind
    entries: _containers.RepeatedCompositeFieldContainer[Entry]
    memo: str
    initiator: str
    idempotency_key: str
    reference: str
    reverses: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[TransactionKind, str]] = ..., entries: _Optional[_Iterable[_Union[Entry, _Mapping]]] = ..., memo: _Optional[str] = ..., initiator: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., reference: _Optional[str] = ..., reverses: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class OperatorDepositSource(_message.Message):
    __slots__ = ("note",)
    NOTE_FIELD_NUMBER: _ClassVar[int]
    note: str
    def __init__(self, note: _Optional[str] = ...) -> None: ...

class FaucetDepositSource(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class EvmTransactionProof(_message.Message):
    __slots__ = ("chain_id", "transaction_hash")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_HASH_FIELD_NUMBER: _ClassVar[int]
    chain_id: int
    transaction_hash: str
    def __init__(self, chain_id: _Optional[int] = ..., transaction_hash: _Optional[str] = ...) -> None: ...

class SolanaTransactionProof(_message.Message):
    __slots__ = ("signature",)
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    signature: str
    def __init__(self, signature: _Optional[str] = ...) -> None: ...

class DepositRequest(_message.Message):
    __slots__ = ("agent", "amount", "idempotency_key", "operator", "faucet", "evm_transaction", "solana_transaction")
    AGENT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    FAUCET_FIELD_NUMBER: _ClassVar[int]
    EVM_TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    SOLANA_TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    agent: str
    amount: _common_pb2.Money
    idempotency_key: str
    operator: OperatorDepositSource
    faucet: FaucetDepositSource
    evm_transaction: EvmTransactionProof
    solana_transaction: SolanaTransactionProof
    def __init__(self, agent: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., idempotency_key: _Optional[str] = ..., operator: _Optional[_Union[OperatorDepositSource, _Mapping]] = ..., faucet: _Optional[_Union[FaucetDepositSource, _Mapping]] = ..., evm_transaction: _Optional[_Union[EvmTransactionProof, _Mapping]] = ..., solana_transaction: _Optional[_Union[SolanaTransactionProof, _Mapping]] = ...) -> None: ...

class DepositResponse(_message.Message):
    __slots__ = ("transaction", "wallet")
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    WALLET_FIELD_NUMBER: _ClassVar[int]
    transaction: Transaction
    wallet: Wallet
    def __init__(self, transaction: _Optional[_Union[Transaction, _Mapping]] = ..., wallet: _Optional[_Union[Wallet, _Mapping]] = ...) -> None: ...

class Withdrawal(_message.Message):
    __slots__ = ("name", "agent", "amount", "destination", "state", "hold", "external_reference", "reject_reason", "create_time", "resolve_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    HOLD_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    REJECT_REASON_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    RESOLVE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    agent: str
    amount: _common_pb2.Money
    destination: _common_pb2.ExternalWallet
    state: WithdrawalState
    hold: str
    external_reference: str
    reject_reason: str
    create_time: _timestamp_pb2.Timestamp
    resolve_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., agent: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., destination: _Optional[_Union[_common_pb2.ExternalWallet, _Mapping]] = ..., state: _Optional[_Union[WithdrawalState, str]] = ..., hold: _Optional[str] = ..., external_reference: _Optional[str] = ..., reject_reason: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resolve_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class WithdrawRequest(_message.Message):
    __slots__ = ("amount", "destination", "idempotency_key")
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    amount: _common_pb2.Money
    destination: _common_pb2.ExternalWallet
    idempotency_key: str
    def __init__(self, amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., destination: _Optional[_Union[_common_pb2.ExternalWallet, _Mapping]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class WithdrawResponse(_message.Message):
    __slots__ = ("withdrawal",)
    WITHDRAWAL_FIELD_NUMBER: _ClassVar[int]
    withdrawal: Withdrawal
    def __init__(self, withdrawal: _Optional[_Union[Withdrawal, _Mapping]] = ...) -> None: ...

class GetWithdrawalRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetWithdrawalResponse(_message.Message):
    __slots__ = ("withdrawal",)
    WITHDRAWAL_FIELD_NUMBER: _ClassVar[int]
    withdrawal: Withdrawal
    def __init__(self, withdrawal: _Optional[_Union[Withdrawal, _Mapping]] = ...) -> None: ...

class ListWithdrawalsRequest(_message.Message):
    __slots__ = ("parent", "state", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    state: WithdrawalState
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., state: _Optional[_Union[WithdrawalState, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListWithdrawalsResponse(_message.Message):
    __slots__ = ("withdrawals", "next_page_token")
    WITHDRAWALS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    withdrawals: _containers.RepeatedCompositeFieldContainer[Withdrawal]
    next_page_token: str
    def __init__(self, withdrawals: _Optional[_Iterable[_Union[Withdrawal, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CompleteWithdrawalRequest(_message.Message):
    __slots__ = ("name", "external_reference")
    NAME_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    external_reference: str
    def __init__(self, name: _Optional[str] = ..., external_reference: _Optional[str] = ...) -> None: ...

class CompleteWithdrawalResponse(_message.Message):
    __slots__ = ("withdrawal",)
    WITHDRAWAL_FIELD_NUMBER: _ClassVar[int]
    withdrawal: Withdrawal
    def __init__(self, withdrawal: _Optional[_Union[Withdrawal, _Mapping]] = ...) -> None: ...

class RejectWithdrawalRequest(_message.Message):
    __slots__ = ("name", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RejectWithdrawalResponse(_message.Message):
    __slots__ = ("withdrawal",)
    WITHDRAWAL_FIELD_NUMBER: _ClassVar[int]
    withdrawal: Withdrawal
    def __init__(self, withdrawal: _Optional[_Union[Withdrawal, _Mapping]] = ...) -> None: ...

class TransferRequest(_message.Message):
    __slots__ = ("recipient", "amount", "memo", "idempotency_key")
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    MEMO_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    recipient: str
    amount: _common_pb2.Money
    memo: str
    idempotency_key: str
    def __init__(self, recipient: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., memo: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class TransferResponse(_message.Message):
    __slots__ = ("transaction",)
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    transaction: Transaction
    def __init__(self, transaction: _Optional[_Union[Transaction, _Mapping]] = ...) -> None: ...

class GetTransactionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetTransactionResponse(_message.Message):
    __slots__ = ("transaction",)
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    transaction: Transaction
    def __init__(self, transaction: _Optional[_Union[Transaction, _Mapping]] = ...) -> None: ...

class ListTransactionsRequest(_message.Message):
    __slots__ = ("parent", "asset", "kind", "start_time", "end_time", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    ASSET_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    asset: str
    kind: TransactionKind
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., asset: _Optional[str] = ..., kind: _Optional[_Union[TransactionKind, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTransactionsResponse(_message.Message):
    __slots__ = ("transactions", "next_page_token")
    TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    transactions: _containers.RepeatedCompositeFieldContainer[Transaction]
    next_page_token: str
    def __init__(self, transactions: _Optional[_Iterable[_Union[Transaction, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Hold(_message.Message):
    __slots__ = ("name", "agent", "amount", "captured_amount", "state", "purpose", "reference", "expire_time", "create_time", "resolve_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CAPTURED_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    RESOLVE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    agent: str
    amount: _common_pb2.Money
    captured_amount: int
    state: HoldState
    purpose: str
    reference: str
    expire_time: _timestamp_pb2.Timestamp
    create_time: _timestamp_pb2.Timestamp
    resolve_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., agent: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., captured_amount: _Optional[int] = ..., state: _Optional[_Union[HoldState, str]] = ..., purpose: _Optional[str] = ..., reference: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resolve_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateHoldRequest(_message.Message):
    __slots__ = ("amount", "purpose", "ttl_seconds", "idempotency_key")
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    amount: _common_pb2.Money
    purpose: str
    ttl_seconds: int
    idempotency_key: str
    def __init__(self, amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., purpose: _Optional[str] = ..., ttl_seconds: _Optional[int] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class CreateHoldResponse(_message.Message):
    __slots__ = ("hold",)
    HOLD_FIELD_NUMBER: _ClassVar[int]
    hold: Hold
    def __init__(self, hold: _Optional[_Union[Hold, _Mapping]] = ...) -> None: ...

class CaptureHoldRequest(_message.Message):
    __slots__ = ("name", "amount", "payee", "idempotency_key")
    NAME_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PAYEE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    name: str
    amount: int
    payee: str
    idempotency_key: str
    def __init__(self, name: _Optional[str] = ..., amount: _Optional[int] = ..., payee: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class CaptureHoldResponse(_message.Message):
    __slots__ = ("hold", "transaction")
    HOLD_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    hold: Hold
    transaction: Transaction
    def __init__(self, hold: _Optional[_Union[Hold, _Mapping]] = ..., transaction: _Optional[_Union[Transaction, _Mapping]] = ...) -> None: ...

class ReleaseHoldRequest(_message.Message):
    __slots__ = ("name", "idempotency_key")
    NAME_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    name: str
    idempotency_key: str
    def __init__(self, name: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class ReleaseHoldResponse(_message.Message):
    __slots__ = ("hold",)
    HOLD_FIELD_NUMBER: _ClassVar[int]
    hold: Hold
    def __init__(self, hold: _Optional[_Union[Hold, _Mapping]] = ...) -> None: ...

class GetHoldRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetHoldResponse(_message.Message):
    __slots__ = ("hold",)
    HOLD_FIELD_NUMBER: _ClassVar[int]
    hold: Hold
    def __init__(self, hold: _Optional[_Union[Hold, _Mapping]] = ...) -> None: ...

class ListHoldsRequest(_message.Message):
    __slots__ = ("parent", "state", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    state: HoldState
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., state: _Optional[_Union[HoldState, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListHoldsResponse(_message.Message):
    __slots__ = ("holds", "next_page_token")
    HOLDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    holds: _containers.RepeatedCompositeFieldContainer[Hold]
    next_page_token: str
    def __init__(self, holds: _Optional[_Iterable[_Union[Hold, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Budget(_message.Message):
    __slots__ = ("name", "scope", "period", "limit", "spent", "remaining", "period_start_time", "period_end_time", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    SPENT_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_TIME_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    scope: str
    period: BudgetPeriod
    limit: _common_pb2.Money
    spent: int
    remaining: int
    period_start_time: _timestamp_pb2.Timestamp
    period_end_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., scope: _Optional[str] = ..., period: _Optional[_Union[BudgetPeriod, str]] = ..., limit: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., spent: _Optional[int] = ..., remaining: _Optional[int] = ..., period_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., period_end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class CreateBudgetRequest(_message.Message):
    __slots__ = ("parent", "budget")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    parent: str
    budget: Budget
    def __init__(self, parent: _Optional[str] = ..., budget: _Optional[_Union[Budget, _Mapping]] = ...) -> None: ...

class CreateBudgetResponse(_message.Message):
    __slots__ = ("budget",)
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    budget: Budget
    def __init__(self, budget: _Optional[_Union[Budget, _Mapping]] = ...) -> None: ...

class GetBudgetRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetBudgetResponse(_message.Message):
    __slots__ = ("budget",)
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    budget: Budget
    def __init__(self, budget: _Optional[_Union[Budget, _Mapping]] = ...) -> None: ...

class ListBudgetsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListBudgetsResponse(_message.Message):
    __slots__ = ("budgets", "next_page_token")
    BUDGETS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    budgets: _containers.RepeatedCompositeFieldContainer[Budget]
    next_page_token: str
    def __init__(self, budgets: _Optional[_Iterable[_Union[Budget, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateBudgetRequest(_message.Message):
    __slots__ = ("budget", "update_mask")
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    budget: Budget
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, budget: _Optional[_Union[Budget, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateBudgetResponse(_message.Message):
    __slots__ = ("budget",)
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    budget: Budget
    def __init__(self, budget: _Optional[_Union[Budget, _Mapping]] = ...) -> None: ...

class DeleteBudgetRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteBudgetResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Tier(_message.Message):
    __slots__ = ("tier", "display_name", "monthly_price", "monthly_credits", "unlimited_credits", "monthly_api_calls", "unlimited_api_calls", "burst_per_second")
    TIER_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_PRICE_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_CREDITS_FIELD_NUMBER: _ClassVar[int]
    UNLIMITED_CREDITS_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_API_CALLS_FIELD_NUMBER: _ClassVar[int]
    UNLIMITED_API_CALLS_FIELD_NUMBER: _ClassVar[int]
    BURST_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    tier: SubscriptionTier
    display_name: str
    monthly_price: _common_pb2.Money
    monthly_credits: int
    unlimited_credits: bool
    monthly_api_calls: int
    unlimited_api_calls: bool
    burst_per_second: int
    def __init__(self, tier: _Optional[_Union[SubscriptionTier, str]] = ..., display_name: _Optional[str] = ..., monthly_price: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., monthly_credits: _Optional[int] = ..., unlimited_credits: _Optional[bool] = ..., monthly_api_calls: _Optional[int] = ..., unlimited_api_calls: _Optional[bool] = ..., burst_per_second: _Optional[int] = ...) -> None: ...

class ListTiersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTiersResponse(_message.Message):
    __slots__ = ("tiers",)
    TIERS_FIELD_NUMBER: _ClassVar[int]
    tiers: _containers.RepeatedCompositeFieldContainer[Tier]
    def __init__(self, tiers: _Optional[_Iterable[_Union[Tier, _Mapping]]] = ...) -> None: ...

class Subscription(_message.Message):
    __slots__ = ("name", "tier", "current_period_start_time", "current_period_end_time", "credits_granted")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PERIOD_START_TIME_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PERIOD_END_TIME_FIELD_NUMBER: _ClassVar[int]
    CREDITS_GRANTED_FIELD_NUMBER: _ClassVar[int]
    name: str
    tier: SubscriptionTier
    current_period_start_time: _timestamp_pb2.Timestamp
    current_period_end_time: _timestamp_pb2.Timestamp
    credits_granted: int
    def __init__(self, name: _Optional[str] = ..., tier: _Optional[_Union[SubscriptionTier, str]] = ..., current_period_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., current_period_end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., credits_granted: _Optional[int] = ...) -> None: ...

class GetSubscriptionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetSubscriptionResponse(_message.Message):
    __slots__ = ("subscription",)
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ...) -> None: ...

class ChangeSubscriptionRequest(_message.Message):
    __slots__ = ("name", "tier", "idempotency_key")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    name: str
    tier: SubscriptionTier
    idempotency_key: str
    def __init__(self, name: _Optional[str] = ..., tier: _Optional[_Union[SubscriptionTier, str]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class ChangeSubscriptionResponse(_message.Message):
    __slots__ = ("subscription", "transaction")
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    transaction: Transaction
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ..., transaction: _Optional[_Union[Transaction, _Mapping]] = ...) -> None: ...

class BuyCreditsRequest(_message.Message):
    __slots__ = ("credits", "idempotency_key")
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    credits: int
    idempotency_key: str
    def __init__(self, credits: _Optional[int] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class BuyCreditsResponse(_message.Message):
    __slots__ = ("transaction", "price")
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    transaction: Transaction
    price: _common_pb2.Money
    def __init__(self, transaction: _Optional[_Union[Transaction, _Mapping]] = ..., price: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class GetApiUsageRequest(_message.Message):
    __slots__ = ("agent",)
    AGENT_FIELD_NUMBER: _ClassVar[int]
    agent: str
    def __init__(self, agent: _Optional[str] = ...) -> None: ...

class GetApiUsageResponse(_message.Message):
    __slots__ = ("tier", "calls_used", "calls_quota", "unlimited", "period_end_time", "burst_per_second")
    TIER_FIELD_NUMBER: _ClassVar[int]
    CALLS_USED_FIELD_NUMBER: _ClassVar[int]
    CALLS_QUOTA_FIELD_NUMBER: _ClassVar[int]
    UNLIMITED_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_TIME_FIELD_NUMBER: _ClassVar[int]
    BURST_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    tier: SubscriptionTier
    calls_used: int
    calls_quota: int
    unlimited: bool
    period_end_time: _timestamp_pb2.Timestamp
    burst_per_second: int
    def __init__(self, tier: _Optional[_Union[SubscriptionTier, str]] = ..., calls_used: _Optional[int] = ..., calls_quota: _Optional[int] = ..., unlimited: _Optional[bool] = ..., period_end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., burst_per_second: _Optional[int] = ...) -> None: ...

class ServicePrice(_message.Message):
    __slots__ = ("service", "display_name", "price", "unit")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    service: str
    display_name: str
    price: _common_pb2.Money
    unit: str
    def __init__(self, service: _Optional[str] = ..., display_name: _Optional[str] = ..., price: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., unit: _Optional[str] = ...) -> None: ...

class ListServicePricesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListServicePricesResponse(_message.Message):
    __slots__ = ("prices",)
    PRICES_FIELD_NUMBER: _ClassVar[int]
    prices: _containers.RepeatedCompositeFieldContainer[ServicePrice]
    def __init__(self, prices: _Optional[_Iterable[_Union[ServicePrice, _Mapping]]] = ...) -> None: ...

class CheckLedgerRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CheckLedgerResponse(_message.Message):
    __slots__ = ("balanced", "accounts_checked", "transactions_checked", "problems")
    BALANCED_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    TRANSACTIONS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    balanced: bool
    accounts_checked: int
    transactions_checked: int
    problems: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, balanced: _Optional[bool] = ..., accounts_checked: _Optional[int] = ..., transactions_checked: _Optional[int] = ..., problems: _Optional[_Iterable[str]] = ...) -> None: ...

class X402SupportedKind(_message.Message):
    __slots__ = ("x402_version", "scheme", "network", "extra")
    X402_VERSION_FIELD_NUMBER: _ClassVar[int]
    SCHEME_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    EXTRA_FIELD_NUMBER: _ClassVar[int]
    x402_version: int
    scheme: str
    network: str
    extra: _struct_pb2.Struct
    def __init__(self, x402_version: _Optional[int] = ..., scheme: _Optional[str] = ..., network: _Optional[str] = ..., extra: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class GetX402SupportedRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetX402SupportedResponse(_message.Message):
    __slots__ = ("kinds",)
    KINDS_FIELD_NUMBER: _ClassVar[int]
    kinds: _containers.RepeatedCompositeFieldContainer[X402SupportedKind]
    def __init__(self, kinds: _Optional[_Iterable[_Union[X402SupportedKind, _Mapping]]] = ...) -> None: ...

class Eip3009Authorization(_message.Message):
    __slots__ = ("to", "value", "valid_after", "valid_before", "nonce")
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    VALID_AFTER_FIELD_NUMBER: _ClassVar[int]
    VALID_BEFORE_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    to: str
    value: str
    valid_after: str
    valid_before: str
    nonce: str
    def __init__(self, to: _Optional[str] = ..., value: _Optional[str] = ..., valid_after: _Optional[str] = ..., valid_before: _Optional[str] = ..., nonce: _Optional[str] = ..., **kwargs) -> None: ...

class X402PaymentPayload(_message.Message):
    __slots__ = ("x402_version", "scheme", "network", "signature", "authorization")
    X402_VERSION_FIELD_NUMBER: _ClassVar[int]
    SCHEME_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    AUTHORIZATION_FIELD_NUMBER: _ClassVar[int]
    x402_version: int
    scheme: str
    network: str
    signature: str
    authorization: Eip3009Authorization
    def __init__(self, x402_version: _Optional[int] = ..., scheme: _Optional[str] = ..., network: _Optional[str] = ..., signature: _Optional[str] = ..., authorization: _Optional[_Union[Eip3009Authorization, _Mapping]] = ...) -> None: ...

class X402PaymentRequirements(_message.Message):
    __slots__ = ("scheme", "network", "max_amount_required", "resource", "description", "mime_type", "pay_to", "max_timeout_seconds", "asset", "extra")
    SCHEME_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    MAX_AMOUNT_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    MIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    PAY_TO_FIELD_NUMBER: _ClassVar[int]
    MAX_TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ASSET_FIELD_NUMBER: _ClassVar[int]
    EXTRA_FIELD_NUMBER: _ClassVar[int]
    scheme: str
    network: str
    max_amount_required: str
    resource: str
    description: str
    mime_type: str
    pay_to: str
    max_timeout_seconds: int
    asset: str
    extra: _struct_pb2.Struct
    def __init__(self, scheme: _Optional[str] = ..., network: _Optional[str] = ..., max_amount_required: _Optional[str] = ..., resource: _Optional[str] = ..., description: _Optional[str] = ..., mime_type: _Optional[str] = ..., pay_to: _Optional[str] = ..., max_timeout_seconds: _Optional[int] = ..., asset: _Optional[str] = ..., extra: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class VerifyX402PaymentRequest(_message.Message):
    __slots__ = ("payment_payload", "payment_requirements")
    PAYMENT_PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    payment_payload: X402PaymentPayload
    payment_requirements: X402PaymentRequirements
    def __init__(self, payment_payload: _Optional[_Union[X402PaymentPayload, _Mapping]] = ..., payment_requirements: _Optional[_Union[X402PaymentRequirements, _Mapping]] = ...) -> None: ...

class VerifyX402PaymentResponse(_message.Message):
    __slots__ = ("is_valid", "invalid_reason", "payer")
    IS_VALID_FIELD_NUMBER: _ClassVar[int]
    INVALID_REASON_FIELD_NUMBER: _ClassVar[int]
    PAYER_FIELD_NUMBER: _ClassVar[int]
    is_valid: bool
    invalid_reason: str
    payer: str
    def __init__(self, is_valid: _Optional[bool] = ..., invalid_reason: _Optional[str] = ..., payer: _Optional[str] = ...) -> None: ...

class SettleX402PaymentRequest(_message.Message):
    __slots__ = ("payment_payload", "payment_requirements")
    PAYMENT_PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    payment_payload: X402PaymentPayload
    payment_requirements: X402PaymentRequirements
    def __init__(self, payment_payload: _Optional[_Union[X402PaymentPayload, _Mapping]] = ..., payment_requirements: _Optional[_Union[X402PaymentRequirements, _Mapping]] = ...) -> None: ...

class SettleX402PaymentResponse(_message.Message):
    __slots__ = ("success", "error_reason", "transaction", "network", "payer")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    ERROR_REASON_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    PAYER_FIELD_NUMBER: _ClassVar[int]
    success: bool
    error_reason: str
    transaction: str
    network: str
    payer: str
    def __init__(self, success: _Optional[bool] = ..., error_reason: _Optional[str] = ..., transaction: _Optional[str] = ..., network: _Optional[str] = ..., payer: _Optional[str] = ...) -> None: ...

class VerifySolanaPaymentRequest(_message.Message):
    __slots__ = ("signature", "recipient", "amount", "reference")
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    signature: str
    recipient: str
    amount: _common_pb2.Money
    reference: str
    def __init__(self, signature: _Optional[str] = ..., recipient: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., reference: _Optional[str] = ...) -> None: ...

class VerifySolanaPaymentResponse(_message.Message):
    __slots__ = ("verified", "reason", "payer", "slot")
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PAYER_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    verified: bool
    reason: str
    payer: str
    slot: int
    def __init__(self, verified: _Optional[bool] = ..., reason: _Optional[str] = ..., payer: _Optional[str] = ..., slot: _Optional[int] = ...) -> None: ...

class CreateSolanaPayRequestRequest(_message.Message):
    __slots__ = ("amount", "label", "message", "memo")
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    MEMO_FIELD_NUMBER: _ClassVar[int]
    amount: _common_pb2.Money
    label: str
    message: str
    memo: str
    def __init__(self, amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., label: _Optional[str] = ..., message: _Optional[str] = ..., memo: _Optional[str] = ...) -> None: ...

class CreateSolanaPayRequestResponse(_message.Message):
    __slots__ = ("url", "reference", "recipient")
    URL_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    url: str
    reference: str
    recipient: str
    def __init__(self, url: _Optional[str] = ..., reference: _Optional[str] = ..., recipient: _Optional[str] = ...) -> None: ...

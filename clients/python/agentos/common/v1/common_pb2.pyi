from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Access(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCESS_UNSPECIFIED: _ClassVar[Access]
    ACCESS_PUBLIC: _ClassVar[Access]
    ACCESS_AUTHENTICATED: _ClassVar[Access]
    ACCESS_OPERATOR: _ClassVar[Access]

class Chain(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHAIN_UNSPECIFIED: _ClassVar[Chain]
    CHAIN_EVM: _ClassVar[Chain]
    CHAIN_SOLANA: _ClassVar[Chain]
ACCESS_UNSPECIFIED: Access
ACCESS_PUBLIC: Access
ACCESS_AUTHENTICATED: Access
ACCESS_OPERATOR: Access
CHAIN_UNSPECIFIED: Chain
CHAIN_EVM: Chain
CHAIN_SOLANA: Chain
ACCESS_FIELD_NUMBER: _ClassVar[int]
access: _descriptor.FieldDescriptor

class Money(_message.Message):
    __slots__ = ("asset", "amount")
    ASSET_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    asset: str
    amount: int
    def __init__(self, asset: _Optional[str] = ..., amount: _Optional[int] = ...) -> None: ...

class ExternalWallet(_message.Message):
    __slots__ = ("chain", "address")
    CHAIN_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    chain: Chain
    address: str
    def __init__(self, chain: _Optional[_Union[Chain, str]] = ..., address: _Optional[str] = ...) -> None: ...

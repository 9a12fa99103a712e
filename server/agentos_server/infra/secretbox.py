"""AES-256-GCM encryption for secrets at rest (users' provider API keys).

Blob layout (all integers big-endian)::

    version (1 byte, 0x01) | key id length n (1 byte) | key id (n bytes, ASCII) | nonce (12 bytes)
    | ciphertext with the 16-byte GCM tag appended

The header (version and key id) is bound into the GCM associated data together with the caller's
``associated_data``, so neither the header nor the owner can be changed without the tag failing.
The key id tells ``decrypt`` which master key sealed the blob, so blobs written before a rotation keep
decrypting as long as their key stays in the keyring; ``reencrypt`` moves them to the primary key.

Master keys come from configuration as ``AGENTOS_MASTER_KEYS="k2:<base64 of 32 bytes>,k1:<base64>"``:
comma-separated ``id:key`` pairs, the first one primary (used for every new encryption), the rest kept
only to decrypt older blobs. Key ids are 1-32 characters of ``A-Z a-z 0-9 _ -``. Generate a key with
``generate_master_key()``.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = 1
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class SecretBoxConfigError(ValueError):
    """The keyring or its configuration string is unusable; the message says which part and why."""


class DecryptionError(Exception):
    """A blob cannot be opened: corrupt, tampered with, bound to another owner, or its key is gone."""


def _check_key(key_id: str, key: bytes) -> None:
    if not _KEY_ID.match(key_id):
        raise SecretBoxConfigError(f"master key id {key_id!r} must be 1-32 characters of A-Z a-z 0-9 _ -")
    if not isinstance(key, bytes):
        raise SecretBoxConfigError(f"master key {key_id!r} must be bytes")
    if len(key) != KEY_BYTES:
        raise SecretBoxConfigError(
            f"master key {key_id!r} is {len(key)} bytes; AES-256-GCM needs exactly {KEY_BYTES}"
        )


class SecretBox:
    def __init__(self, keys: Mapping[str, bytes], primary: str) -> None:
        if not keys:
            raise SecretBoxConfigError("the keyring is empty: configure at least one master key")
        for key_id, key in keys.items():
            _check_key(key_id, key)
        if primary not in keys:
            raise SecretBoxConfigError(f"primary key {primary!r} is not in the keyring")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._primary = primary

    @classmethod
    def from_config(cls, value: str) -> SecretBox:
        keys, primary = parse_master_keys(value)
        return cls(keys, primary)

    @property
    def primary(self) -> str:
        return self._primary

    def encrypt(self, plaintext: str, *, associated_data: bytes) -> bytes:
        header = _header(self._primary)
        # A random 96-bit nonce per message: with well under 2**32 encryptions per key the chance of
        # a repeat (which would break GCM) is negligible, and rotation resets the count.
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._primary].encrypt(
            nonce, plaintext.encode("utf-8"), header + associated_data
        )
        return header + nonce + sealed

    def decrypt(self, blob: bytes, *, associated_data: bytes) -> str:
        key_id, header_len = _parse_header(blob)
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise DecryptionError(f"blob was sealed with master key {key_id!r}, which is not in the keyring")
        header = blob[:header_len]
        nonce = blob[header_len : header_len + NONCE_BYTES]
        try:
            plaintext = cipher.decrypt(nonce, blob[header_len + NONCE_BYTES :], header + associated_data)
        except InvalidTag:
            # Deliberately one message for every cause: tampering, wrong owner and wrong key look
            # the same to GCM, and telling an attacker which one it was would only help them.
            raise DecryptionError(
                "blob failed authentication (tampered, or bound to other associated data)"
            ) from None
        try:
            return plaintext.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecryptionError("decrypted secret is not UTF-8") from exc

    def key_id_of(self, blob: bytes) -> str:
        return _parse_header(blob)[0]

    def needs_reencrypt(self, blob: bytes) -> bool:
        """True when the blob is sealed with an older key (or an older format) than the primary."""
        return self.key_id_of(blob) != self._primary

    def reencrypt(self, blob: bytes, associated_data: bytes) -> bytes:
        """The same secret sealed with the primary key; unchanged if it already is.

        The blob is always opened first, so this can never launder a blob onto another owner.
        """
        plaintext = self.decrypt(blob, associated_data=associated_data)
        if not self.needs_reencrypt(blob):
            return blob
        return self.encrypt(plaintext, associated_data=associated_data)


def _header(key_id: str) -> bytes:
    encoded = key_id.encode("ascii")
    return bytes([VERSION, len(encoded)]) + encoded


def _parse_header(blob: bytes) -> tuple[str, int]:
    if not isinstance(blob, bytes | bytearray | memoryview):
        raise DecryptionError("blob must be bytes")
    blob = bytes(blob)
    if len(blob) < 2:
        raise DecryptionError("blob is too short to be a sealed secret")
    if blob[0] != VERSION:
        raise DecryptionError(f"unknown blob version {blob[0]}")
    key_len = blob[1]
    header_len = 2 + key_len
    if key_len == 0 or len(blob) < header_len + NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("blob is truncated")
    try:
        key_id = blob[2:header_len].decode("ascii")
    except UnicodeDecodeError:
        raise DecryptionError("blob header is corrupt") from None
    if not _KEY_ID.match(key_id):
        raise DecryptionError("blob header is corrupt")
    return key_id, header_len


def parse_master_keys(value: str) -> tuple[dict[str, bytes], str]:
    """Parse ``"k2:<base64>,k1:<base64>"`` into (keys, primary id); the first entry is primary."""
    entries = [e.strip() for e in value.split(",") if e.strip()]
    if not entries:
        raise SecretBoxConfigError(
            "AGENTOS_MASTER_KEYS is empty: expected 'id:<base64 of 32 bytes>[,id:<base64>...]'"
        )
    keys: dict[str, bytes] = {}
    for position, entry in enumerate(entries, start=1):
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not key_id or not encoded.strip():
            raise SecretBoxConfigError(f"master key entry {position} must look like 'id:<base64>'")
        if key_id in keys:
            raise SecretBoxConfigError(f"master key id {key_id!r} appears twice")
        key = _decode_key(key_id, encoded.strip())
        _check_key(key_id, key)
        keys[key_id] = key
    return keys, next(iter(keys))


def _decode_key(key_id: str, encoded: str) -> bytes:
    # Accept both alphabets: standard is what generate_master_key prints, URL-safe is what many
    # secret managers hand out.
    alphabet_fixed = encoded.replace("-", "+").replace("_", "/")
    padded = alphabet_fixed + "=" * (-len(alphabet_fixed) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise SecretBoxConfigError(f"master key {key_id!r} is not valid base64") from None


def generate_master_key() -> str:
    """A fresh random 32-byte key, base64-encoded, ready to be put after ``<id>:`` in the config."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode("ascii")


# Vendor prefixes are public knowledge and tell a user which key they are looking at.
_KEY_PREFIX = re.compile(r"^(?:[a-z]{2,4}-(?:[a-z]{2,6}-)?)")
_MIN_MASKABLE = 20
_SHOWN_SUFFIX = 4


def mask_secret(api_key: str) -> str:
    """A recognisable, unusable form of a key, e.g. ``"sk-proj-…Xy7Q"``.

    Shows the vendor prefix (at most 8 characters) and the last 4 characters, and only when at least
    12 characters stay hidden; shorter keys are fully masked as ``"********"`` so their length does
    not leak either.
    """
    key = api_key.strip()
    if len(key) < _MIN_MASKABLE:
        return "********"
    match = _KEY_PREFIX.match(key)
    prefix = match.group(0)[:8] if match else ""
    if len(key) - len(prefix) - _SHOWN_SUFFIX < 12:
        prefix = ""
    return f"{prefix}…{key[-_SHOWN_SUFFIX:]}"

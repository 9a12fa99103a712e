"""Settings: one object, read from AGENTOS_* environment variables and an optional TOML file.

Every default runs offline on one machine: a SQLite file under the data directory, in-process bus
and limiter, the bubblewrap sandbox, and the built-in model. The README's configuration table
lists every variable; keep the two in step.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "AGENTOS_"


class ConfigError(ValueError):
    """A setting has a value the server cannot use."""


@dataclass(frozen=True)
class Settings:
    # Where the embedded SQLite database, artifacts and scratch directories live.
    data_dir: Path = Path(".agentos")
    # SQLAlchemy URL; empty means the SQLite file <data_dir>/agentos.db.
    database_url: str = ""
    # redis:// URL; empty means in-process bus, queue and rate limiter (one server process).
    redis_url: str = ""
    # Prefix for every Redis key, so several deployments (or test runs) can share one Redis.
    redis_prefix: str = "agentos:"
    grpc_addr: str = "127.0.0.1:50051"
    # host:port for the Prometheus /metrics endpoint; empty disables it.
    metrics_addr: str = ""
    log_level: str = "INFO"
    # "json" (one object per line) or "text".
    log_format: str = "json"
    # How long a resolved API key is trusted before it is looked up again. Revocation on this
    # replica is immediate; other replicas notice within this many seconds.
    auth_cache_seconds: float = 5.0
    # Seconds in-flight RPCs get to finish after SIGTERM.
    shutdown_grace_seconds: float = 10.0

    # --- payments (domain/ledger.py, domain/billing.py, domain/quota.py) ---
    # Lets an agent credit its own wallet with Deposit{faucet}. For development only: off by default.
    faucet_enabled: bool = False
    # Platform fee on marketplace payments, in basis points of the amount (250 = 2.5 %): on skill
    # sales (the ClawOS seed's 97.5/2.5 split) and on any payment that has no fee of its own.
    platform_fee_bps: int = 250
    # USDC, in atomic units (6 decimals), for 1,000 execution credits: 10000000 = $10 per 1,000.
    credit_price_per_1000: int = 10_000_000
    # JSON object overriding fields of the subscription tiers, e.g.
    # {"free": {"monthly_api_calls": 5000, "burst_per_second": 5}, "scale": {"monthly_credits": 50000}}.
    tiers: str = ""
    # JSON list replacing the per-call service price list; empty keeps the PerkOS defaults, e.g.
    # [{"service": "ocr", "display_name": "OCR", "asset": "USDC", "amount": 1500, "unit": "page"}].
    service_prices: str = ""
    # JSON list of assets beyond USDC, SOL and CREDIT: [{"code": "EURC", "decimals": 6}].
    extra_assets: str = ""
    # Lifetime of a hold created without ttl_seconds, and the longest one may ask for.
    hold_default_ttl_seconds: int = 3600
    hold_max_ttl_seconds: int = 7 * 86400
    # How often each server releases expired holds and forgets old idempotency keys; 0 turns it off.
    hold_sweep_seconds: float = 30.0
    # How long an idempotency key is remembered; a repeat after that runs again.
    idempotency_retention_hours: int = 168
    # How long the admission gate trusts an agent's cached subscription tier.
    tier_cache_seconds: float = 10.0

    # --- marketplace (domain/purchases.py, domain/licenses.py, domain/marketplace.py) ---
    # Platform fee on daemon sales, in basis points (3000 = 30 %, the AI OS seed's commission).
    daemon_fee_bps: int = 3000
    # How long after a purchase its seller (or an operator) may refund it.
    refund_window_hours: int = 168
    # How often each server renews due subscriptions and ends expired features; 0 turns it off.
    renewal_sweep_seconds: float = 60.0
    # How long before its expiry a subscription is renewed; a failed renewal is retried on every
    # sweep until the expiry, then the licence lapses.
    renewal_lead_seconds: int = 3600

    # --- daemon runs (domain/execution, docs in the README's "Runs" section) ---
    # Script sandbox: auto (= bwrap), bwrap, docker or process. process runs scripts unisolated and
    # is refused unless allow_insecure_process_sandbox is also set.
    sandbox: str = "auto"
    allow_insecure_process_sandbox: bool = False
    # Runs one process executes at once (agentos worker, or agentos serve's in-process pool).
    worker_concurrency: int = 4
    # Whether `agentos serve` also executes runs. Without Redis it must (the queue is in-process).
    serve_workers: bool = True
    # A claimed run whose worker has not heartbeaten for this long is reclaimed by another worker.
    worker_lease_seconds: float = 30.0
    # Claims a run may have (the first plus reclaims after dead workers) before it fails.
    run_max_attempts: int = 3
    # A subscriber with no live event for this long checks the database (covers a lost bus message).
    event_poll_seconds: float = 1.0
    # Stage outputs whose JSON is larger than this are stored as artifacts instead of inline.
    inline_output_bytes: int = 64 * 1024
    # Cost model (README "Run costs"; model costs convert to credits at credit_price_per_1000):
    # credits per started second of script wall time; the least a run costs; prompt tokens assumed
    # per model call when a definition without limits.max_credits is priced for its hold.
    script_credits_per_second: int = 1
    run_minimum_credits: int = 1
    hold_prompt_tokens: int = 8_000

    # --- skill proxy, agent channel, model providers (domain/proxy, domain/provider_keys.py) ---
    # Production mode: skill endpoints must be https:// on public addresses (http:// to loopback,
    # accepted for local development, is refused at call time).
    production_mode: bool = False
    # ExecuteSkill deadline when the request gives none, and the longest one may ask for.
    proxy_default_timeout_ms: int = 30_000
    proxy_max_timeout_ms: int = 120_000
    # Calls a second one licence may make (a token bucket of this many tokens).
    proxy_license_rate_per_second: int = 20
    # Extra tries of a seller HTTPS call when that is safe (connection refused before sending, or
    # an idempotent method answered 502/503/504), with exponential backoff inside the deadline.
    proxy_http_retries: int = 2
    # Consecutive failures (connection errors, timeouts, 5xx, garbage) that open an endpoint's
    # circuit, and how long it stays open before one probe call is let through.
    proxy_breaker_failures: int = 5
    proxy_breaker_cooldown_seconds: float = 30.0
    # Largest seller answer accepted; a larger one fails the call (UPSTREAM_BAD_RESPONSE).
    proxy_max_response_bytes: int = 4 * 1024 * 1024
    # How long a licence check, a skill's definition and an agent's tier are reused on the hot
    # path. A revoked licence or an updated skill takes effect within this time; prepaid units
    # and money are always checked in the database.
    proxy_cache_seconds: float = 2.0
    # How often calls are counted into seller analytics and reputation (in one transaction per
    # flush, off the calls' path); a crash loses at most this interval's counts, never a charge.
    proxy_count_flush_seconds: float = 1.0
    # Seconds a ConnectAgent stream has to send its hello.
    channel_hello_timeout_seconds: float = 10.0
    # Master keys sealing agents' provider API keys: "k2:<base64 of 32 bytes>,k1:<base64>", first
    # primary. Empty: SetProviderKey is refused (FAILED_PRECONDITION MASTER_KEY_NOT_CONFIGURED).
    master_keys: str = field(default="", repr=False)
    # Platform provider keys, used for an agent's model stages when it stored none of its own.
    openai_api_key: str = field(default="", repr=False)
    anthropic_api_key: str = field(default="", repr=False)
    google_api_key: str = field(default="", repr=False)
    # An OpenAI-compatible server (Ollama, vLLM ...) for every agent; the key is optional.
    openai_compatible_base_url: str = ""
    openai_compatible_api_key: str = field(default="", repr=False)
    # A JSON model catalogue replacing the built-in one (docs/providers.md, same shape).
    model_catalogue_file: str = ""
    # AGENTOS_* variables that match no setting (most likely typos); logged at start-up.
    unknown_variables: tuple[str, ...] = ()

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return normalize_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'agentos.db').resolve()}"

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def normalize_database_url(url: str) -> str:
    """Accepts the URLs people type and names the async driver AgentOS uses for each database."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


def _coerce(name: str, raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off", ""}:
            return False
        raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be true or false, not {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError as exc:
            raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be an integer, not {raw!r}") from exc
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError as exc:
            raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be a number, not {raw!r}") from exc
    if isinstance(default, Path):
        return Path(raw)
    return raw


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Builds Settings from an optional TOML file (AGENTOS_CONFIG_FILE) overlaid by the environment."""
    env = os.environ if environ is None else environ
    values: dict[str, str] = {}
    config_file = env.get(f"{ENV_PREFIX}CONFIG_FILE", "")
    if config_file:
        try:
            with open(config_file, "rb") as handle:
                parsed = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {ENV_PREFIX}CONFIG_FILE {config_file}: {exc}") from exc
        values.update({str(k).lower(): str(v) for k, v in parsed.items()})
    for key, value in env.items():
        if key.startswith(ENV_PREFIX) and key != f"{ENV_PREFIX}CONFIG_FILE":
            values[key[len(ENV_PREFIX) :].lower()] = value

    defaults = Settings()
    known = {f.name for f in fields(Settings)} - {"unknown_variables"}
    kwargs: dict[str, Any] = {}
    unknown: list[str] = []
    for name, raw in values.items():
        if name in known:
            kwargs[name] = _coerce(name, raw, getattr(defaults, name))
        else:
            unknown.append(ENV_PREFIX + name.upper())
    settings = Settings(**kwargs, unknown_variables=tuple(sorted(unknown)))
    if settings.log_format not in {"json", "text"}:
        raise ConfigError(f"{ENV_PREFIX}LOG_FORMAT must be json or text, not {settings.log_format!r}")
    _check_run_settings(settings)
    _check_proxy_settings(settings)
    return settings


def _check_run_settings(settings: Settings) -> None:
    if settings.sandbox not in {"auto", "bwrap", "docker", "process"}:
        raise ConfigError(
            f"{ENV_PREFIX}SANDBOX must be auto, bwrap, docker or process, not {settings.sandbox!r}"
        )
    if settings.sandbox == "process" and not settings.allow_insecure_process_sandbox:
        raise ConfigError(
            f"{ENV_PREFIX}SANDBOX=process runs scripts with the server's own files, network and user; "
            f"set {ENV_PREFIX}ALLOW_INSECURE_PROCESS_SANDBOX=true as well if that is really meant"
        )
    positive = {
        "worker_concurrency": settings.worker_concurrency,
        "worker_lease_seconds": settings.worker_lease_seconds,
        "run_max_attempts": settings.run_max_attempts,
        "event_poll_seconds": settings.event_poll_seconds,
        "inline_output_bytes": settings.inline_output_bytes,
    }
    for name, value in positive.items():
        if value <= 0:
            raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be positive, not {value}")
    for name in ("script_credits_per_second", "run_minimum_credits", "hold_prompt_tokens"):
        if getattr(settings, name) < 0:
            raise ConfigError(f"{ENV_PREFIX}{name.upper()} must not be negative")


def _check_proxy_settings(settings: Settings) -> None:
    from agentos_server.infra.secretbox import SecretBoxConfigError, parse_master_keys

    positive = {
        "proxy_default_timeout_ms": settings.proxy_default_timeout_ms,
        "proxy_max_timeout_ms": settings.proxy_max_timeout_ms,
        "proxy_license_rate_per_second": settings.proxy_license_rate_per_second,
        "proxy_breaker_failures": settings.proxy_breaker_failures,
        "proxy_max_response_bytes": settings.proxy_max_response_bytes,
        "channel_hello_timeout_seconds": settings.channel_hello_timeout_seconds,
        "proxy_count_flush_seconds": settings.proxy_count_flush_seconds,
    }
    for name, value in positive.items():
        if value <= 0:
            raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be positive, not {value}")
    for name in ("proxy_http_retries", "proxy_breaker_cooldown_seconds", "proxy_cache_seconds"):
        if getattr(settings, name) < 0:
            raise ConfigError(f"{ENV_PREFIX}{name.upper()} must not be negative")
    if settings.proxy_default_timeout_ms > settings.proxy_max_timeout_ms:
        raise ConfigError(
            f"{ENV_PREFIX}PROXY_DEFAULT_TIMEOUT_MS must not exceed {ENV_PREFIX}PROXY_MAX_TIMEOUT_MS"
        )
    if settings.master_keys.strip():
        try:
            parse_master_keys(settings.master_keys)
        except SecretBoxConfigError as error:
            # The message names the offending key id, never the key material.
            raise ConfigError(f"{ENV_PREFIX}MASTER_KEYS: {error}") from None

"""Model providers behind one interface, and the router that picks between them.

See docs/providers.md for the routing rules, the builtin model and the price table.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from .anthropic import AnthropicProvider
from .builtin import BUILTIN_PROVIDER, BuiltinProvider
from .catalogue import CatalogueError, default_catalogue, load_catalogue, parse_catalogue
from .google import GoogleProvider
from .openai import OpenAICompatibleProvider, OpenAIProvider
from .router import AttemptCallback, ModelRouter
from .types import (
    Attempt,
    ChatMessage,
    CompletionRequest,
    CompletionResult,
    CredentialResolver,
    ModelInfo,
    ModelProvider,
    ProviderCredentials,
    ProviderError,
)

__all__ = [
    "BUILTIN_PROVIDER",
    "AnthropicProvider",
    "Attempt",
    "AttemptCallback",
    "BuiltinProvider",
    "CatalogueError",
    "ChatMessage",
    "CompletionRequest",
    "CompletionResult",
    "CredentialResolver",
    "GoogleProvider",
    "ModelInfo",
    "ModelProvider",
    "ModelRouter",
    "OpenAICompatibleProvider",
    "OpenAIProvider",
    "ProviderCredentials",
    "ProviderError",
    "build_default_router",
    "default_catalogue",
    "default_providers",
    "load_catalogue",
    "parse_catalogue",
]


def default_providers(*, client: httpx.AsyncClient | None = None) -> dict[str, ModelProvider]:
    """One adapter per provider name used by the default catalogue.

    Pass ``client`` to share one connection pool between the adapters (its owner closes it);
    otherwise each adapter owns its own and ``ModelRouter.aclose`` closes them.
    """
    return {
        "openai": OpenAIProvider(client=client),
        "anthropic": AnthropicProvider(client=client),
        "google": GoogleProvider(client=client),
        "openai_compatible": OpenAICompatibleProvider(client=client),
        BUILTIN_PROVIDER: BuiltinProvider(),
    }


def build_default_router(*, clock: Callable[[], float] = time.monotonic) -> ModelRouter:
    return ModelRouter(default_catalogue(), default_providers(), clock=clock)

"""The model catalogue as ListModels shows it: every model the router can route to, optionally
only those with one capability, in catalogue order, paged by a signed offset."""

from __future__ import annotations

from agentos_server.domain.pagination import PageTokens, fingerprint, page_size
from agentos_server.infra.providers import ModelInfo, ModelRouter


def list_models(
    router: ModelRouter, tokens: PageTokens, *, capability: str, size: int, token: str
) -> tuple[list[ModelInfo], str]:
    limit = page_size(size)
    binding = fingerprint(capability)
    cursor = tokens.decode("models", token, binding)
    start = int(cursor["o"]) if cursor is not None else 0
    models = router.models(capability.strip() or None)
    page = models[start : start + limit]
    next_token = ""
    if start + limit < len(models):
        next_token = tokens.encode("models", {"o": start + limit}, binding)
    return page, next_token

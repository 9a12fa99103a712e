"""The model catalogue: which models exist, who serves them, what they can do and what they cost.

The default ships as ``catalogue.json`` next to this module; configuration can replace it with a file
of the same shape (``{"models": [...]}`` or a bare list of model objects).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path

from .types import ModelInfo

_REQUIRED = (
    "id",
    "provider",
    "capabilities",
    "input_price_per_mtok",
    "output_price_per_mtok",
    "context_window",
)
_OPTIONAL = ("upstream_id",)


class CatalogueError(ValueError):
    """A catalogue entry is malformed; the message names the entry and the field."""


def parse_catalogue(data: object) -> list[ModelInfo]:
    entries = data.get("models") if isinstance(data, Mapping) else data
    if not isinstance(entries, Sequence) or isinstance(entries, str | bytes):
        raise CatalogueError("a catalogue is a list of models or an object with a 'models' list")
    models: list[ModelInfo] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        model = _parse_entry(index, entry)
        if model.id in seen:
            raise CatalogueError(f"model id {model.id!r} appears twice")
        seen.add(model.id)
        models.append(model)
    return models


def _parse_entry(index: int, entry: object) -> ModelInfo:
    where = f"catalogue entry {index}"
    if not isinstance(entry, Mapping):
        raise CatalogueError(f"{where}: expected an object")
    if isinstance(entry.get("id"), str):
        where = f"catalogue model {entry['id']!r}"
    missing = [k for k in _REQUIRED if k not in entry]
    if missing:
        raise CatalogueError(f"{where}: missing {', '.join(missing)}")
    unknown = sorted(set(entry) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise CatalogueError(f"{where}: unknown field(s) {', '.join(unknown)}")

    def text(key: str) -> str:
        value = entry.get(key, "")
        if not isinstance(value, str):
            raise CatalogueError(f"{where}: {key} must be a string")
        return value

    def count(key: str, *, positive: bool = False) -> int:
        value = entry[key]
        # Prices are integer micro-dollars by rule; a float here is a unit mistake, not a rounding.
        if not isinstance(value, int) or isinstance(value, bool) or value < (1 if positive else 0):
            kind = "a positive" if positive else "a non-negative"
            raise CatalogueError(f"{where}: {key} must be {kind} integer, got {value!r}")
        return value

    capabilities = entry["capabilities"]
    if not isinstance(capabilities, list) or not all(isinstance(c, str) and c for c in capabilities):
        raise CatalogueError(f"{where}: capabilities must be a list of names")
    model_id, provider = text("id"), text("provider")
    if not model_id or not provider:
        raise CatalogueError(f"{where}: id and provider must not be empty")
    return ModelInfo(
        id=model_id,
        provider=provider,
        capabilities=frozenset(capabilities),
        input_price_per_mtok=count("input_price_per_mtok"),
        output_price_per_mtok=count("output_price_per_mtok"),
        context_window=count("context_window", positive=True),
        upstream_id=text("upstream_id"),
    )


def load_catalogue(path: str | os.PathLike[str]) -> list[ModelInfo]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CatalogueError(f"{path}: not valid JSON: {exc}") from exc
    return parse_catalogue(data)


@cache
def _default() -> tuple[ModelInfo, ...]:
    raw = resources.files(__name__.rpartition(".")[0]).joinpath("catalogue.json").read_text(encoding="utf-8")
    return tuple(parse_catalogue(json.loads(raw)))


def default_catalogue() -> list[ModelInfo]:
    """The shipped catalogue (a fresh list; the models themselves are immutable)."""
    return list(_default())

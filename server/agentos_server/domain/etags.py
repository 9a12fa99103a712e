"""Etags (AIP-154): opaque, derived from a resource's name and revision counter."""

from __future__ import annotations

import hashlib

from agentos_server.domain.errors import Aborted


def etag_for(name: str, revision: int) -> str:
    return hashlib.blake2b(f"{name}#{revision}".encode(), digest_size=8).hexdigest()


def check_etag(given: str, name: str, revision: int) -> None:
    if given and given != etag_for(name, revision):
        raise Aborted(
            f"{name} changed since it was read (etag mismatch); read it again and retry",
            reason="ETAG_MISMATCH",
            metadata={"field": "etag"},
        )

"""The Registry's daemons, as the run service needs them (ports.DaemonSource)."""

from __future__ import annotations

from agentos_server.domain.caller import Caller
from agentos_server.domain.daemons import DaemonRegistry
from agentos_server.domain.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from agentos_server.domain.execution.ports import DaemonToRun


class RegistryDaemons:
    def __init__(self, registry: DaemonRegistry) -> None:
        self._registry = registry

    async def resolve(self, caller: Caller, name: str, version: str) -> DaemonToRun:
        try:
            found = await self._registry.resolve_runnable(caller, name, version or None)
        except NotFound as error:
            # The registry names its own request fields; StartRun's are `daemon` and `version`.
            missing_version = "@" in error.metadata.get("name", "")
            raise NotFound(
                error.message,
                reason=error.reason,
                metadata={**error.metadata, "field": "version" if missing_version and version else "daemon"},
            ) from None
        except InvalidArgument as error:
            if any(v.field.startswith("daemon.definition_yaml") for v in error.violations):
                # What is stored no longer passes validation (written by an older validator or
                # edited by hand): the caller's request is fine, the daemon cannot run.
                raise FailedPrecondition(
                    f"{name} cannot run, its stored definition is invalid: {error.message}",
                    reason="DAEMON_DEFINITION_INVALID",
                    metadata={"field": "daemon"},
                ) from None
            raise InvalidArgument(
                error.message,
                reason=error.reason,
                violations=[
                    FieldViolation("daemon" if v.field == "name" else v.field, v.description)
                    for v in error.violations
                ],
            ) from None
        return DaemonToRun(
            daemon_id=found.daemon_id,
            version=found.version,
            owner_id=found.owner_id,
            spec=found.spec,
            definition_yaml=found.definition_yaml,
            is_free=found.pricing.is_free,
        )

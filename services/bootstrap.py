"""Idempotent creation of the namespaces and Nexus endpoints dagent needs."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

from google.protobuf.duration_pb2 import Duration
from temporalio.api.nexus.v1 import EndpointSpec, EndpointTarget
from temporalio.api.operatorservice.v1 import (
    CreateNexusEndpointRequest,
    ListNexusEndpointsRequest,
    UpdateNexusEndpointRequest,
)
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    RegisterNamespaceRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from services import topology
from services.errors import TemporalSetupError

logger = logging.getLogger("dagent.bootstrap")

RETENTION = Duration(seconds=7 * 24 * 3600)
NAMESPACE_VISIBLE_TIMEOUT = 30.0


async def ensure_namespace(client: Client, namespace: str) -> None:
    try:
        await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
        return
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise _setup_error(f"namespace '{namespace}'", exc) from None
    try:
        await client.workflow_service.register_namespace(
            RegisterNamespaceRequest(namespace=namespace, workflow_execution_retention_period=RETENTION)
        )
        logger.info("created namespace %s", namespace)
    except RPCError as register_error:
        if register_error.status != RPCStatusCode.ALREADY_EXISTS:
            raise _setup_error(f"namespace '{namespace}'", register_error) from None


async def ensure_nexus_endpoint(client: Client, team: topology.Team) -> None:
    """Create the team's endpoint, or point an existing one at the right queue."""
    spec = EndpointSpec(
        name=team.nexus_endpoint,
        target=EndpointTarget(
            worker=EndpointTarget.Worker(namespace=team.namespace, task_queue=team.task_queue)
        ),
    )
    try:
        found = await client.operator_service.list_nexus_endpoints(
            ListNexusEndpointsRequest(name=team.nexus_endpoint)
        )
        if not found.endpoints:
            await client.operator_service.create_nexus_endpoint(CreateNexusEndpointRequest(spec=spec))
            logger.info("created Nexus endpoint %s", team.nexus_endpoint)
            return
        existing = found.endpoints[0]
        if existing.spec.target != spec.target:
            await client.operator_service.update_nexus_endpoint(
                UpdateNexusEndpointRequest(id=existing.id, version=existing.version, spec=spec)
            )
            logger.info("retargeted Nexus endpoint %s", team.nexus_endpoint)
    except RPCError as exc:
        if exc.status != RPCStatusCode.ALREADY_EXISTS:
            raise _setup_error(f"Nexus endpoint '{team.nexus_endpoint}'", exc) from None


async def ensure_topology(
    client: Client,
    teams: Iterable[topology.Team] = topology.TEAMS.values(),
    namespace_visible_timeout: float = NAMESPACE_VISIBLE_TIMEOUT,
) -> None:
    """Namespaces first (endpoints target them), then one endpoint per team."""
    teams = list(teams)
    for namespace in (topology.ORCHESTRATOR_NAMESPACE, *(team.namespace for team in teams)):
        await ensure_namespace(client, namespace)
    for team in teams:
        await _retry_until_namespace_visible(
            functools.partial(ensure_nexus_endpoint, client, team),
            namespace_visible_timeout,
        )


async def _retry_until_namespace_visible(attempt: Callable[[], Awaitable[None]], patience: float) -> None:
    """A namespace just registered is unknown to the endpoint registry until the
    server's namespace cache refreshes (seconds), so creating an endpoint that
    targets it fails with 'not found' for a while."""
    deadline = time.monotonic() + patience
    while True:
        try:
            await attempt()
            return
        except TemporalSetupError as exc:
            if "not found" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            logger.info("waiting for a new namespace to become visible")
            await asyncio.sleep(0.5)


def _setup_error(what: str, exc: RPCError) -> TemporalSetupError:
    hint = (
        " Create it with the Terraform in infrastructure/ or ask your Temporal admin."
        if exc.status in (RPCStatusCode.PERMISSION_DENIED, RPCStatusCode.UNIMPLEMENTED)
        else ""
    )
    return TemporalSetupError(f"Could not set up {what}: {exc.message.rstrip('.')}.{hint}")

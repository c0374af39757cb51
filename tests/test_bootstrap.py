"""Namespaces and Nexus endpoints are created once and found again, on the real dev server."""

import pytest
from temporalio.api.nexus.v1 import EndpointSpec, EndpointTarget
from temporalio.api.operatorservice.v1 import ListNexusEndpointsRequest, UpdateNexusEndpointRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from services import bootstrap, topology

pytestmark = pytest.mark.server


async def endpoint_target(client: Client, name: str) -> tuple[str, str]:
    found = await client.operator_service.list_nexus_endpoints(ListNexusEndpointsRequest(name=name))
    assert len(found.endpoints) == 1
    worker = found.endpoints[0].spec.target.worker
    return worker.namespace, worker.task_queue


async def test_topology_exists_and_is_idempotent(client: Client) -> None:
    await bootstrap.ensure_topology(client)  # a second time changes nothing
    for namespace in ("default", "it-namespace", "finance-namespace"):
        await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
    for team in topology.TEAMS.values():
        assert await endpoint_target(client, team.nexus_endpoint) == (team.namespace, team.task_queue)


async def test_misdirected_endpoint_is_pointed_back(client: Client) -> None:
    found = await client.operator_service.list_nexus_endpoints(
        ListNexusEndpointsRequest(name=topology.IT.nexus_endpoint)
    )
    endpoint = found.endpoints[0]
    wrong = EndpointSpec(
        name=topology.IT.nexus_endpoint,
        target=EndpointTarget(worker=EndpointTarget.Worker(namespace="default", task_queue="elsewhere")),
    )
    await client.operator_service.update_nexus_endpoint(
        UpdateNexusEndpointRequest(id=endpoint.id, version=endpoint.version, spec=wrong)
    )
    await bootstrap.ensure_topology(client)
    assert await endpoint_target(client, topology.IT.nexus_endpoint) == ("it-namespace", "it-task-queue")

"""An activity that checks Nexus endpoints exist before a workflow calls them.

A workflow that calls an unknown endpoint fails its workflow task forever, so
the conversation asks first and treats a missing endpoint as an unavailable service.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.api.operatorservice.v1 import ListNexusEndpointsRequest
from temporalio.client import Client


class EndpointActivities:
    def __init__(self, client: Client) -> None:
        self.client = client

    @activity.defn(name="dagent.missing_endpoints")
    async def missing_endpoints(self, names: list[str]) -> list[str]:
        missing = []
        for name in names:
            found = await self.client.operator_service.list_nexus_endpoints(
                ListNexusEndpointsRequest(name=name)
            )
            if not found.endpoints:
                missing.append(name)
        return missing

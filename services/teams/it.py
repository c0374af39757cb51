"""IT's tools: the host's network addresses and Jira project metrics."""

from __future__ import annotations

import re
import socket

import psutil
from pydantic import Field, field_validator

from services import topology
from services.tools import SAMPLE_DATA, Tool, ToolInput, ToolResult
from services.tools.sample import fraction

TEAM = topology.IT.name


class NoInput(ToolInput):
    pass


async def get_ip(_: NoInput) -> ToolResult:
    """The host's real addresses, read from the operating system's interfaces."""
    addresses = []
    for interface, entries in sorted(psutil.net_if_addrs().items()):
        for entry in entries:
            if entry.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            address = entry.address.split("%", 1)[0]
            addresses.append(
                {
                    "interface": interface,
                    "address": address,
                    "family": "IPv4" if entry.family == socket.AF_INET else "IPv6",
                    "loopback": address.startswith("127.") or address == "::1",
                }
            )
    outward = [a for a in addresses if not a["loopback"]]
    primary = next((a for a in outward if a["family"] == "IPv4"), outward[0] if outward else None)
    return {
        "hostname": socket.gethostname(),
        "primary_address": primary["address"] if primary else None,
        "addresses": addresses,
        "source": "this host's network interfaces (live)",
    }


PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9]{1,9}(-[0-9]{1,7})?$")


class JiraInput(ToolInput):
    project: str = Field(description="Jira project key such as 'DEMO' or issue-style key such as 'DEMO-456'.")

    @field_validator("project")
    @classmethod
    def _key(cls, value: str) -> str:
        key = value.strip().upper()
        if not PROJECT_KEY.match(key):
            raise ValueError(
                f"'{value}' is not a Jira project key (letters and digits, starting with a letter, "
                "optionally '-' and a number, e.g. 'DEMO' or 'DEMO-456')"
            )
        return key


async def jira_metrics(args: JiraInput) -> ToolResult:
    total = 40 + int(460 * fraction("jira", args.project))
    open_issues = int(total * (0.15 + 0.5 * fraction("jira-open", args.project)))
    return {
        "project": args.project,
        "open_issues": open_issues,
        "closed_issues": total - open_issues,
        "total_issues": total,
        "source": SAMPLE_DATA,
    }


TOOLS = [
    Tool(
        name="get_ip",
        description="The IP addresses and hostname of the machine the IT service runs on.",
        input_model=NoInput,
        implementation=get_ip,
        team=TEAM,
        scope="it:read",
    ),
    Tool(
        name="jira_metrics",
        description="Open, closed and total issue counts for a Jira project (sample data).",
        input_model=JiraInput,
        implementation=jira_metrics,
        team=TEAM,
        scope="it:read",
    ),
]

"""The IT team's service: its tools, served over Nexus and MCP from it-namespace."""

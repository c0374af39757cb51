"""The Finance team's service: its tools, served over Nexus and MCP from finance-namespace."""

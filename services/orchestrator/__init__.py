"""The orchestrator: the agent's conversation workflow, its LLM calls and local tools."""

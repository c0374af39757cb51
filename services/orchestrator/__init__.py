"""The orchestrator: the conversation workflows of every pattern and what they need
(discovery, tool calls, circuit breakers, memory, activities), and its worker's parts."""

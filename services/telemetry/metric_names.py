"""The names of dagent's own metrics, declared once: the workers record under them
(`services.telemetry.metrics`) and `dagent metrics` reads them back. No imports, so
the CLI reads them without loading prometheus-client or Temporal."""

TURNS = "dagent_turns"
TURN_SECONDS = "dagent_turn_seconds"
TOOL_CALLS = "dagent_tool_calls"
CIRCUIT = "dagent_circuit_state"
MODEL_CALLS = "dagent_model_calls"
MODEL_SECONDS = "dagent_model_call_seconds"
TOKENS = "dagent_model_tokens"
COST = "dagent_model_cost_usd"
TOOL_RUNS = "dagent_tool_runs"
TOOL_RUN_SECONDS = "dagent_tool_run_seconds"
RETRIES = "dagent_retries"

"""What a turn did, for people and machines: OpenTelemetry traces (to a collector, or
to a local store that `dagent trace` draws)."""

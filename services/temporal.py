"""Connecting to Temporal through its own environment configuration.

`TEMPORAL_ADDRESS`, `TEMPORAL_API_KEY`, TLS variables and profiles in
`temporal.toml` are honoured exactly as the Temporal CLI honours them; dagent
only chooses the namespace of each component.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.envconfig import ClientConfigProfile
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

from services import topology
from services.errors import ConfigError, TemporalUnreachableError

# Every payload of dagent is a pydantic model.
DATA_CONVERTER = pydantic_data_converter


def sealed_converter(home: Path, encrypt: bool, base: DataConverter = DATA_CONVERTER) -> DataConverter:
    """`base` with the stack's payload codec (keys under `home`); with `encrypt`, failures
    are sealed too and a worker's unsealed failure is read with its reason withheld."""
    from services.payloads.codec import PayloadCipher
    from services.payloads.failures import SealedFailures

    failures = SealedFailures if encrypt else base.failure_converter_class
    return dataclasses.replace(
        base, payload_codec=PayloadCipher(home, encrypt), failure_converter_class=failures
    )


def _profile() -> ClientConfigProfile:
    try:
        return ClientConfigProfile.load()
    except Exception as exc:  # the loader raises plain RuntimeErrors
        raise ConfigError(f"Temporal environment configuration is invalid: {exc}") from None


def quiet_runtime() -> Runtime:
    """A runtime whose core logs only errors: for interactive front ends, where
    the client's own retry warnings would spill over the user's screen."""
    return Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR")),
            metrics=None,
        )
    )


def external_address() -> str | None:
    """The address of a Temporal server the user configured, if any.

    When this is None, dagent runs its own embedded dev server.
    """
    return _profile().address or None


async def connect(namespace: str, *, address: str | None = None, **kwargs: Any) -> Client:
    """A client for `namespace`, on `address` or wherever Temporal's config points;
    TemporalUnreachableError when nothing answers there."""
    config: dict[str, Any] = dict(_profile().to_client_connect_config())
    if address is not None:
        config["target_host"] = address
    config.setdefault("target_host", f"{topology.LOOPBACK}:{topology.DEFAULT_TEMPORAL_PORT}")
    config["namespace"] = namespace
    config["data_converter"] = DATA_CONVERTER
    config.update(kwargs)
    try:
        client = await Client.connect(**config)
    except RuntimeError as exc:  # the SDK's "Failed client connect: ..."
        raise TemporalUnreachableError(
            f"Cannot reach Temporal at {config['target_host']} ({exc}). Start the stack with "
            "'dagent up', or point TEMPORAL_ADDRESS (or a temporal.toml profile) at your server."
        ) from None
    # Reachable: whether this process holds the keys to seal its payloads is next.
    check = getattr(client.data_converter.payload_codec, "check", None)
    if check is not None:
        check()
    return client
